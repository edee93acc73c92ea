"""Tables and plot of the intra-clip evaluation (`qrtse.training.intra_clip_scoring`)."""

from .intra_clip_scoring import BASELINES, SETTINGS
from .report import format_score
from .scoring import TABLE_CONDITIONS

LABELS = {
    "none": "no refinement (theta = 0)",
    "file": "file-level refinement",
    "chunk": "chunk-level refinement (5 s)",
    "frame": "frame-level refinement",
    "online": "online refinement (causal, as streamed)",
    "oracle": "oracle (clip presence)",
    "oracle-frame": "oracle-frame (stems' activity)",
    "silence": "silent output (baseline)",
    "mixture": "unprocessed mixture (baseline)",
}
METRIC_NAMES = {
    "snri_active": "SNRi, active regions",
    "attenuation_inactive": "attenuation, inactive regions",
    "snri": "SNRi, whole clip",
}


def intra_clip_markdown(results: dict) -> str:
    header = (
        f"Intra-clip mixtures: {results['split']} of {results['data_dir']} ({results['num_mixtures']} mixtures);"
        f" theta = {results['threshold']:.2f}, frame smoothing {results['frame_smoothing']}."
    )
    lines = [
        header,
        "Active regions: where a queried class sounds; inactive: where none does (the whole clip for 0:1).",
        "SNRi in dB (higher is better); attenuation = 10 log10(|s_hat|^2 / |x|^2) in dB over the inactive",
        "regions (lower is better, floored at -120).",
    ]
    for metric, title in METRIC_NAMES.items():
        conditions = [c for c in TABLE_CONDITIONS if c.n_active or metric == "attenuation_inactive"]
        lines += ["", f"{title} [dB]:", "", "| Setting | " + " | ".join(c.name for c in conditions) + " |"]
        lines.append("|---" * (len(conditions) + 1) + "|")
        for setting in SETTINGS + BASELINES:
            cells = [format_score(results["scores"].get(f"{c.name}|{setting}", {}).get(metric)) for c in conditions]
            if any(cell != "-" for cell in cells):
                lines.append(f"| {LABELS[setting]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_intra_clip(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric in zip(axes, ("snri_active", "attenuation_inactive")):
        conditions = [c.name for c in TABLE_CONDITIONS if c.n_active or metric == "attenuation_inactive"]
        for setting in SETTINGS + BASELINES:
            values = [results["scores"].get(f"{name}|{setting}", {}).get(metric) for name in conditions]
            if all(v is None for v in values):
                continue
            style = "--" if setting.startswith("oracle") else (":" if setting in BASELINES else "-")
            axis.plot(
                conditions, [float("nan") if v is None else v for v in values], style, marker="o", label=LABELS[setting]
            )
        axis.set_title(METRIC_NAMES[metric])
        axis.set_xlabel("query condition (active : inactive)")
        axis.set_ylabel("dB")
        axis.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.suptitle("Refinement in time on intra-clip mixtures")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)

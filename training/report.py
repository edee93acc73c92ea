"""Table 1 and Fig. 3 of the paper, from `training.evaluate`'s results dictionary."""

from .evaluation import SWEEP_CONDITIONS, TABLE_CONDITIONS


def _rows(results: dict):
    """(label, system summary, setting) per table row: theta = 0 for every system, then each
    theta > 0 and oracle for systems that can refine."""
    for name, summary in results["systems"].items():
        settings = [0.0]
        if summary["has_classifier"]:
            settings += [t for t in results["thresholds"] if t > 0]
        settings.append(results["oracle"])
        for setting in settings:
            label = f"{name} (theta = {setting:.2f})" if setting != results["oracle"] else f"{name} (oracle)"
            yield label, summary, setting


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def results_markdown(results: dict) -> str:
    header = [c.name for c in TABLE_CONDITIONS]
    lines = [
        f"Split: {results['split']} of {results['data_dir']}; inactive classes seeded with {results['seed']}.",
        "",
        "| System | " + " | ".join(f"{'SNRi' if c.n_active else 'A_mix'} ({n}) [dB]" for c, n in zip(TABLE_CONDITIONS, header))
        + " | Macro F1 | MACs (G/s) | Params (M) |",
        "|---" * (len(header) + 4) + "|",
    ]
    for label, summary, setting in _rows(results):
        cells = [_fmt(summary["scores"].get(f"{name}|{setting}")) for name in header]
        f1 = summary.get("macro_f1", {}).get(str(setting)) if setting != results["oracle"] else None
        cost = [f"{summary['gmacs_per_second']:.2f}", f"{summary['parameters_m']:.2f}"] if setting == 0.0 else ["", ""]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_fmt(f1)} | " + " | ".join(cost) + " |")
    lines += ["", "SNRi [dB] against n_inactive at n_active = 1 (Fig. 3):", ""]
    lines.append("| System | " + " | ".join(str(c.n_inactive) for c in SWEEP_CONDITIONS) + " |")
    lines.append("|---" * (len(SWEEP_CONDITIONS) + 1) + "|")
    for label, summary, setting in _rows(results):
        cells = [_fmt(summary["scores"].get(f"{c.name}|{setting}")) for c in SWEEP_CONDITIONS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_sweep(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    x = [c.n_inactive for c in SWEEP_CONDITIONS]
    # The default 10-colour cycle repeats once a sweep over many thetas and systems is plotted.
    axes.set_prop_cycle(color=plt.get_cmap("tab20").colors)
    for label, summary, setting in _rows(results):
        y = [summary["scores"].get(f"{c.name}|{setting}") for c in SWEEP_CONDITIONS]
        style = "--" if setting == results["oracle"] else "-"
        axes.plot(x, y, style, marker="o", label=label)
    axes.set_xlabel("number of inactive classes in the query")
    axes.set_ylabel("SNRi [dB]")
    axes.set_title("PMQ robustness (paper Fig. 3), n_active = 1")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)

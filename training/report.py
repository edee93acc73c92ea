"""Table 1 and Fig. 3 of the paper, from `qrtse.training.evaluate`'s results dictionary."""

from .scoring import SWEEP_CONDITIONS, TABLE_CONDITIONS


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


def format_score(value) -> str:
    """A score in a results table: two decimals, "-" where there is none."""
    return "-" if value is None else f"{value:.2f}"


def results_markdown(results: dict) -> str:
    header = [c.name for c in TABLE_CONDITIONS]
    lines = [
        f"Split: {results['split']} of {results['data_dir']}; inactive classes seeded with {results['seed']}.",
        "",
        "| System | "
        + " | ".join(f"{'SNRi' if c.n_active else 'A_mix'} ({n}) [dB]" for c, n in zip(TABLE_CONDITIONS, header))
        + " | Macro F1 | MACs (G/s) | Params (M) |",
        "|---" * (len(header) + 4) + "|",
    ]
    for label, summary, setting in _rows(results):
        cells = [format_score(summary["scores"].get(f"{name}|{setting}")) for name in header]
        f1 = summary.get("macro_f1", {}).get(str(setting)) if setting != results["oracle"] else None
        cost = [f"{summary['gmacs_per_second']:.2f}", f"{summary['parameters_m']:.2f}"] if setting == 0.0 else ["", ""]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {format_score(f1)} | " + " | ".join(cost) + " |")
    lines += ["", *honest_table(results)]
    lines += ["", "SNRi [dB] against n_inactive at n_active = 1 (Fig. 3):", ""]
    lines.append("| System | " + " | ".join(str(c.n_inactive) for c in SWEEP_CONDITIONS) + " |")
    lines.append("|---" * (len(SWEEP_CONDITIONS) + 1) + "|")
    for label, summary, setting in _rows(results):
        cells = [format_score(summary["scores"].get(f"{c.name}|{setting}")) for c in SWEEP_CONDITIONS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


HONEST_CONDITIONS = ("1:0", "1:1", "1:3")


def honest_table(results: dict) -> list:
    """What the SNRi numbers mean: the all-silent output's SNRi on the same mixtures and queries,
    the output SNR, and CA-SDRi (wrong keep / drop decisions score 0), per condition."""
    first = next(iter(results["systems"].values()))
    if "silence_snri" not in first:
        return []
    silence = " / ".join(format_score(first["silence_snri"].get(c)) for c in HONEST_CONDITIONS)
    intro = (
        f"Against baselines on the same mixtures ({' / '.join(HONEST_CONDITIONS)}): an all-silent output scores"
        f" {silence} dB SNRi, the unprocessed mixture 0 dB. Output SNR and CA-SDRi (DCASE 2025 Task 4) [dB]:"
    )
    lines = [
        intro,
        "",
        "| System | "
        + " | ".join(f"SNRi ({c})" for c in HONEST_CONDITIONS)
        + " | "
        + " | ".join(f"output SNR ({c})" for c in HONEST_CONDITIONS)
        + " | "
        + " | ".join(f"CA-SDRi ({c})" for c in HONEST_CONDITIONS)
        + " |",
        "|---" * (1 + 3 * len(HONEST_CONDITIONS)) + "|",
    ]
    for label, summary, setting in _rows(results):
        cells = [format_score(summary["scores"].get(f"{c}|{setting}")) for c in HONEST_CONDITIONS]
        cells += [format_score(summary.get("output_snr", {}).get(f"{c}|{setting}")) for c in HONEST_CONDITIONS]
        cells += [format_score(summary.get("ca_sdri", {}).get(f"{c}|{setting}")) for c in HONEST_CONDITIONS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for name, summary in results["systems"].items():
        per_class = summary.get("per_class", {}).get(str(summary.get("refinement_threshold")))
        if not per_class:
            continue
        lines += [
            "",
            (
                f"{name}: classifier per class at its shipped theta = {summary['refinement_threshold']:.2f}"
                " (recall of present classes, false-positive rate on absent ones, mixtures with the class present):"
            ),
            "",
            "| class | recall | FPR | present |",
            "|---|---|---|---|",
        ]
        for label, row in per_class.items():
            if row["present"]:
                lines.append(
                    f"| {label} | {format_score(row['recall'])} | {format_score(row['false_positive_rate'])} | {row['present']} |"
                )
    return lines


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

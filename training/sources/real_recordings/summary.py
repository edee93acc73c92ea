"""What the real-recordings corpus holds, per class: clips per split, seconds, files, packages
and licences (`python -m qrtse.training.sources.real_recordings --summary [--json]`) and the dataset
card's section."""

from collections import defaultdict

from ...audio_io import SAMPLE_RATE
from ..base import SPLITS
from .manifest import BACKGROUND_LABEL


def summarise(source) -> dict:
    """`{"classes": {label: {...}}, "background": {...}, "left_out": {...}, "duplicates": n}`."""
    rows = defaultdict(
        lambda: {
            "clips": dict.fromkeys(SPLITS, 0),
            "seconds": 0.0,
            "files": set(),
            "packages": set(),
            "licences": set(),
        }
    )
    for file in source.files:
        if not file.clips:
            continue
        row = rows[file.label]
        for index in range(len(file.clips)):
            split = source.clip_split(file, index)
            if split is not None:
                row["clips"][split] += 1
        row["seconds"] += sum(len(c) for c in file.clips) / SAMPLE_RATE
        row["files"].add(f"{file.package}:{file.relative_path}")
        row["packages"].add(file.package)
        row["licences"].add(f"{file.package}: {file.licence}")

    def plain(row):
        return {
            "clips": row["clips"],
            "total_clips": sum(row["clips"].values()),
            "seconds": round(row["seconds"], 1),
            "files": len(row["files"]),
            "packages": sorted(row["packages"]),
            "licences": sorted(row["licences"]),
        }

    classes = {label: plain(rows[label]) for label in source.class_names}
    return {
        "classes": classes,
        "background": plain(rows[BACKGROUND_LABEL]) if BACKGROUND_LABEL in rows else None,
        "left_out": dict(source.left_out),
        "duplicates_dropped": len(source.duplicates),
    }


def format_summary(summary: dict) -> str:
    lines = [
        f"{'class':<22} {'train':>5} {'val':>4} {'test':>4} {'seconds':>8} {'files':>5}  packages",
    ]
    rows = list(summary["classes"].items())
    if summary["background"]:
        rows.append(("(background)", summary["background"]))
    for label, row in rows:
        c = row["clips"]
        lines.append(
            f"{label:<22} {c['train']:>5} {c['validation']:>4} {c['test']:>4} {row['seconds']:>8.1f} {row['files']:>5}  "
            + ", ".join(row["packages"])
        )
    lines.append(f"{len(summary['classes'])} classes; {summary['duplicates_dropped']} duplicate clips dropped")
    for package, reason in summary["left_out"].items():
        lines.append(f"left out {package}: {reason}")
    licences = sorted({lic for _, row in rows for lic in row["licences"]})
    lines.append("licences:")
    lines.extend(f"  {lic}" for lic in licences)
    return "\n".join(lines)


def card_section(source) -> str:
    summary = summarise(source)
    packages = sorted({p for row in summary["classes"].values() for p in row["packages"]})
    lines = [
        (
            "- **Real recordings** from Debian packages (`training/sources/real_recordings/manifest.toml`"
            " labels each file by an explicit rule; split by file or drum kit / voice, held-out packages"
            " where a class has several):"
        )
    ]
    for label, row in summary["classes"].items():
        c = row["clips"]
        lines.append(
            f"  - {label}: {c['train']} / {c['validation']} / {c['test']} clips (train / validation / test) "
            f"from {row['files']} files of {', '.join(row['packages'])}"
        )
    lines.append(
        "  - Licences: " + "; ".join(sorted({lic for r in summary["classes"].values() for lic in r["licences"]}))
    )
    if summary["left_out"]:
        lines.append(
            "  - Left out on this machine: " + ", ".join(f"{p} ({why})" for p, why in summary["left_out"].items())
        )
    lines.append(f"  - Packages: {', '.join(packages)}")
    return "\n".join(lines) + "\n"

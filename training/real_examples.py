"""The example mixtures that ship with the package: real recordings, chosen by a fixed rule.

    python -m qrtse.training.real_examples --data-dir data/real --count 3 --output modeling_qrtse/examples

The rule, never a choice made by listening to the output: the first `count` mixtures of the
real-recordings *test* split, in split order, each with the partially matched query (one present
class, one absent class; the paper's PMQ 1:1) that `make_query` draws with
`default_rng([EXAMPLE_SEED, index])`. Every mixture of that split has a present and an absent
class, so the rule takes exactly the first `count`. `qrtse.training.example_statistic` scores the same
rule over the first 50.

Each example is the stored 6 s mixture (16 kHz FLAC, bytes as built) and an entry in
`examples.json`: its query, the classes present, and every recording in it (foreground events and
the background) with its Debian package and licence, for attribution.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from .data_loading import class_names
from .frozen_split import load_frozen_split
from .query_conditions import make_query

EXAMPLE_SEED = 29
SPLIT = "test"


def rule_examples(data_dir, count: int) -> list:
    """`(index, row, query names, present names)` of the first `count` mixtures by the rule."""
    labels = class_names(data_dir)
    dataset = load_frozen_split(data_dir, SPLIT)
    chosen = []
    for index in range(len(dataset)):
        if len(chosen) == count:
            break
        row = dataset[index]
        presence = np.asarray(row["presence"])
        if not (presence > 0.5).any() or (presence > 0.5).all():
            continue  # no PMQ 1:1 query exists for this mixture
        query = make_query(presence, 1, 1, np.random.default_rng([EXAMPLE_SEED, index]))
        named = [labels[c] for c in query.target_classes + query.inactive_classes]
        present = [labels[c] for c in np.flatnonzero(presence > 0.5)]
        chosen.append((index, row, named, present))
    if len(chosen) < count:
        raise ValueError(f"{data_dir} has only {len(chosen)} mixtures that fit the rule, {count} asked")
    return chosen


def clip_licences() -> dict:
    """`{clip file id: (package, licence)}` of the real recordings (decodes the corpus once)."""
    from .sources.real_recordings.source import RealRecordingsSource

    source = RealRecordingsSource(strict=False)
    return {f"real/{f.package}/{f.relative_path}": (f.package, f.licence) for f in source.files}


def recording(clip: str, licences: dict, label: str | None) -> dict:
    file_id = clip.split("#", 1)[0]
    package, licence = licences.get(file_id, (file_id.split("/")[1], "see the package's copyright file"))
    return {"class": label, "package": package, "file": file_id.split("/", 2)[2], "licence": licence}


def write_examples(data_dir, count: int, output: Path) -> list:
    labels = class_names(data_dir)
    licences = clip_licences()
    output.mkdir(parents=True, exist_ok=True)
    entries = []
    for number, (index, row, query, present) in enumerate(rule_examples(data_dir, count), start=1):
        name = f"real_{number}.flac"
        (output / name).write_bytes(row["mixture"]["bytes"])
        recipe = row["recipe"]
        sources = [recording(e["clip_id"], licences, labels[e["label"]]) for e in recipe["events"]]
        sources.append(recording(recipe["background_clip_id"], licences, None))
        entries.append(
            {
                "file": name,
                "query": query,
                "present": present,
                "mixture_id": row["mixture_id"],
                "split_index": index,
                "recordings": sources,
            }
        )
    rule = (
        f"the first {count} mixtures of the real-recordings {SPLIT} split (qrtse.training.real_examples), each with "
        f"the PMQ 1:1 query make_query draws with default_rng([{EXAMPLE_SEED}, index])"
    )
    (output / "examples.json").write_text(json.dumps({"rule": rule, "examples": entries}, indent=2) + "\n")
    (output / "README.md").write_text(attributions(rule, entries))
    return entries


def attributions(rule: str, entries: list) -> str:
    """The folder's licence note: each mixture is a mix of these recordings, under their licences."""
    lines = [
        "# Example mixtures (real recordings)",
        "",
        f"Chosen by a fixed rule: {rule}. Each FLAC mixes the recordings listed under it, taken from",
        "Debian packages (the package is the source; see its copyright file) under their licences;",
        "the mixture is distributed under the same terms.",
        "",
    ]
    for entry in entries:
        lines.append(f"## {entry['file']}: query {' + '.join(entry['query'])}")
        lines.append("")
        for r in entry["recordings"]:
            lines.append(f"- {r['class'] or 'background'}: `{r['package']}` {r['file']} ({r['licence']})")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data/real")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--output", default="modeling_qrtse/examples")
    args = parser.parse_args(argv)
    entries = write_examples(args.data_dir, args.count, Path(args.output))
    for entry in entries:
        print(f"{entry['file']}: query {' + '.join(entry['query'])}; present {', '.join(entry['present'])}")
    return entries


if __name__ == "__main__":
    main()

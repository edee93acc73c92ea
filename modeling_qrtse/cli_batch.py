"""`qrtse extract` over many files: folders, globs and lists, resumable, data-parallel.

    qrtse extract recordings/ "more/**/*.flac" -q Bark -o extracted/ [--residual]
    accelerate launch --num_processes 2 -m modeling_qrtse.cli extract recordings/ -q Bark -o extracted/

Each input `<name>` becomes `<OUTDIR>/<name>.wav` (`<name>_1.wav`, ... for several `--query`;
`<name>_residual.wav` with `--residual`), keeping the sub-folders of a folder input. A file whose
outputs all exist is skipped (a rerun resumes; `--overwrite` redoes it). A file that fails is
reported and skipped; the run ends with a summary and exit status 1 if any failed. Outputs are
written under a temporary name and renamed, so a killed run leaves no half-written file.
`<OUTDIR>/report.json` lists, per input, the query, the refined query, the class probabilities,
the outputs and the status (merged over reruns).

Under `accelerate launch` each process takes every N-th file (its shard) and the main process
merges the reports: one process or several write the same files.
"""

import glob
import json
import os
from pathlib import Path

from .cli_extract import extract_targets, remove_stale_partials, write_audio

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")
REPORT_NAME = "report.json"


def expand_inputs(specs) -> list:
    """`(path, output stem)` for files, folders (audio files below them, sub-folders kept) and
    glob patterns, sorted and without repeats. ValueError naming an input that matches nothing."""
    found = {}
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            pairs = [(p, p.relative_to(path).with_suffix("")) for p in files]
        elif path.is_file():
            pairs = [(path, Path(path.stem))]
        else:
            matches = sorted(Path(m) for m in glob.glob(spec, recursive=True) if Path(m).is_file())
            pairs = [(p, Path(p.stem)) for p in matches]
        if not pairs:
            raise ValueError(f"no audio files in {spec!r}")
        for source, stem in pairs:
            found.setdefault(source.resolve(), stem)
    stems = {}
    for source, stem in found.items():
        if stem in stems:
            raise ValueError(f"{source} and {stems[stem]} would both write {stem}.wav; extract them separately")
        stems[stem] = source
    return sorted(((source, stem) for stem, source in stems.items()), key=lambda pair: str(pair[1]))


def outputs_of(output_dir: Path, stem: Path, num_queries: int, residual: bool) -> list:
    """`(kind, k, path)` of every file one input writes."""
    base = output_dir / stem
    suffix = [""] if num_queries == 1 else [f"_{k + 1}" for k in range(num_queries)]
    paths = [("target", k, base.with_name(f"{base.name}{s}.wav")) for k, s in enumerate(suffix)]
    if residual:
        paths += [("residual", k, base.with_name(f"{base.name}{s}_residual.wav")) for k, s in enumerate(suffix)]
    return paths


class Shard:
    """This process's share of the inputs: every N-th under `accelerate launch`, all otherwise."""

    def __init__(self):
        self.state = None
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            try:
                from accelerate import PartialState
            except ImportError as error:
                raise ValueError("a multi-process launch needs accelerate: pip install 'qrtse[train]'") from error
            self.state = PartialState()
        self.index = self.state.process_index if self.state else 0
        self.count = self.state.num_processes if self.state else 1

    @property
    def is_main(self) -> bool:
        return self.index == 0

    def take(self, items: list) -> list:
        return items[self.index :: self.count]

    def wait(self) -> None:
        if self.state is not None:
            self.state.wait_for_everyone()


def run_batch(args, extractor, queries, options) -> int:
    """Extract every input of `args.mixture` into the folder `args.output`; see the module docstring."""
    from tqdm.auto import tqdm

    output_dir = Path(args.output)
    inputs = expand_inputs(args.mixture)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"-o {output_dir} must be a folder when extracting several files")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot write to {output_dir}: {error.strerror or error}") from error
    if not os.access(output_dir, os.W_OK):
        raise ValueError(f"cannot write to {output_dir}: the folder is not writable")
    sources = {source for source, _ in inputs}
    shard = Shard()
    records = []
    mine = shard.take(inputs)
    for source, stem in tqdm(mine, desc="extract", unit="file", disable=args.json or not mine):
        planned = outputs_of(output_dir, stem, len(queries), args.residual)
        if any(path.resolve() in sources for *_, path in planned):
            records.append(failure(source, stem, "an output would replace an input file"))
            continue
        if not args.overwrite and all(path.exists() for *_, path in planned):
            records.append({"input": str(source), "name": str(stem), "status": "skipped"})
            continue
        for *_, path in planned:
            remove_stale_partials(path)
        try:
            records.append(extract_one(extractor, source, stem, queries, options, planned))
        except (ValueError, OSError, RuntimeError) as error:
            records.append(failure(source, stem, str(error)))
    (output_dir / f".{REPORT_NAME}.part-{shard.index}").write_text(json.dumps(records))
    shard.wait()
    if not shard.is_main:
        return 0
    ran = merge_reports(output_dir, shard.count)
    failed = [record for record in ran if record["status"] == "failed"]
    for record in failed:
        print(f"failed: {record['input']}: {record['error']}")
    done = sum(record["status"] == "done" for record in ran)
    summary = {"inputs": len(inputs), "done": done, "skipped": len(ran) - done - len(failed), "failed": len(failed)}
    summary["report"] = str(output_dir / REPORT_NAME)
    text = f"{done} extracted, {summary['skipped']} already done, {len(failed)} failed (report: {summary['report']})"
    print(json.dumps(summary) if args.json else text)
    return 1 if failed else 0


def extract_one(extractor, source, stem, queries, options, planned) -> dict:
    results = extract_targets(extractor, str(source), queries, options)
    written = []
    for kind, k, path in planned:
        result = results[k]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, result["audio"] if kind == "target" else result["residual"], result["sampling_rate"])
        written.append(str(path))
    return {
        "input": str(source),
        "name": str(stem),
        "status": "done",
        "outputs": written,
        "targets": [{"query": r["query"], "refined_query": r["refined_query"]} for r in results],
        "class_probabilities": results[0]["class_probabilities"],
    }


def failure(source, stem, error: str) -> dict:
    return {"input": str(source), "name": str(stem), "status": "failed", "error": error}


def merge_reports(output_dir: Path, num_parts: int) -> list:
    """Update `report.json` with this run's records (a skipped input keeps its earlier record),
    remove the processes' parts, and return this run's records."""
    path = output_dir / REPORT_NAME
    report = {}
    if path.exists():
        try:
            report = {record["name"]: record for record in json.loads(path.read_text())}
        except (ValueError, KeyError, TypeError):
            report = {}  # an unreadable old report is replaced, never trusted
    ran = []
    for index in range(num_parts):
        part = output_dir / f".{REPORT_NAME}.part-{index}"
        ran += json.loads(part.read_text())
        part.unlink()
    for record in ran:
        if record["status"] != "skipped" or record["name"] not in report:
            report[record["name"]] = record
    partial = path.with_name(f".{REPORT_NAME}.partial")
    partial.write_text(json.dumps(sorted(report.values(), key=lambda r: r["name"]), indent=2))
    os.replace(partial, path)
    return ran

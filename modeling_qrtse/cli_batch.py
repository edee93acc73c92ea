"""`qrtse extract` over many files: folders, globs and lists, resumable, data-parallel.

    qrtse extract recordings/ "more/**/*.flac" -q Bark -o extracted/ [--residual]
    accelerate launch --num_processes 2 -m modeling_qrtse.cli extract recordings/ -q Bark -o extracted/

Each input `<name>` becomes `<OUTDIR>/<name>.wav` (`<name>_1.wav`, ... for several `--query`;
`<name>_residual.wav` with `--residual`), keeping the sub-folders of a folder input; files below
`<OUTDIR>` are never inputs. `<OUTDIR>/report.json` (`cli_batch_report`) holds one record per
input, updated after every input: the settings (model weights hash, queries and every option
that changes the output), the query, the refined query, the class probabilities, the outputs
(relative to `<OUTDIR>`) and the status. A `report.json` that is not such a report is never
replaced without `--overwrite`.

A rerun resumes: an input is skipped only when all of its outputs exist and its record says they
were made with the same settings; otherwise it is redone. Outputs that exist without such a
record (another query, threshold or model, or files qrtse did not write) are never replaced
without `--overwrite`: that input is reported as failed. A file that fails is reported and
skipped; the run ends with a summary and exit status 1 if any failed. Files are written under
temporary names and renamed (`cli_output_files`), so a killed run leaves no half-written file,
and its rerun gives exactly the outputs and report of an uninterrupted run.

Under `accelerate launch` each process takes every N-th file (its shard); all of them update the
same report.
"""

import glob
import hashlib
import json
import os
from pathlib import Path

from .cli_batch_report import REPORT_NAME, BatchReport
from .cli_output_files import AUDIO_SUFFIXES, check_writable_folder, write_audio


def expand_inputs(specs, exclude=None) -> list:
    """`(path, output stem)` for files, folders (audio files below them, sub-folders kept) and
    glob patterns, sorted and without repeats; files below the folder `exclude` (the output
    folder) are left out. ValueError naming an input that matches nothing."""
    excluded = Path(exclude).resolve() if exclude is not None else None
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
        if excluded is not None:
            pairs = [(p, stem) for p, stem in pairs if not p.resolve().is_relative_to(excluded)]
        if not pairs:
            raise ValueError(
                f"no audio files in {spec!r}" + (f" outside the output folder {exclude}" if exclude else "")
            )
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


def weights_digest(model) -> str:
    """sha256 of the model's tensors (names, shapes, dtypes, values): the model that made a file."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def extraction_settings(model, queries, options: dict, dtype: str = "float32") -> dict:
    """Everything that decides an input's outputs, as JSON values (compared on resume). bf16 GEMMs
    change the outputs, so a dtype other than float32 is part of them (float32 records predate it)."""
    settings = {"model_sha256": weights_digest(model), "queries": queries, "options": options}
    if dtype != "float32":
        settings["dtype"] = dtype
    return json.loads(json.dumps(settings))


def resume_decision(record, planned: list, settings: dict, overwrite: bool):
    """ "skip", "run", or the reason to refuse: see the module docstring."""
    existing = [path for *_, path in planned if path.exists()]
    made_here = record is not None and record.get("settings") == settings
    if made_here and record.get("status") == "done" and len(existing) == len(planned):
        return "skip"
    if overwrite or not existing or made_here:
        return "run"
    names = ", ".join(path.name for path in existing)
    return f"{names} already exist and were not made with these settings; pass --overwrite to replace them"


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

    def gather(self, items: list) -> list:
        """Every process's `items`, concatenated (on every process)."""
        if self.state is None:
            return items
        from accelerate.utils import gather_object

        return gather_object(items)


def run_batch(args, extractor, queries, options) -> int:
    """Extract every input of `args.mixture` into the folder `args.output`; see the module docstring."""
    from tqdm.auto import tqdm

    output_dir = Path(args.output)  # run_extract has checked that it is not a file
    inputs = expand_inputs(args.mixture, exclude=output_dir)
    check_writable_folder(output_dir)
    sources = {source for source, _ in inputs}
    settings = extraction_settings(extractor.model, queries, options, getattr(args, "dtype", "float32"))
    report = BatchReport(output_dir)
    report.check_replaceable(args.overwrite)
    earlier = report.records()
    shard = Shard()
    statuses = []
    mine = shard.take(inputs)
    for source, stem in tqdm(mine, desc="extract", unit="file", disable=args.json or not mine):
        planned = outputs_of(output_dir, stem, len(queries), args.residual)
        if any(path.resolve() in sources for *_, path in planned):
            statuses.append(failure(report, source, stem, settings, "an output would replace an input file"))
            continue
        decision = resume_decision(earlier.get(str(stem)), planned, settings, args.overwrite)
        if decision == "skip":
            statuses.append(("skipped", str(source), None))
            continue
        if decision != "run":  # refused: the earlier record stays, describing the files that exist
            statuses.append(("failed", str(source), decision))
            continue
        record = {"input": str(source), "name": str(stem), "settings": settings, "status": "running"}
        report.update(record)
        try:
            report.update(record | extract_one(extractor, source, queries, options, planned, output_dir))
            statuses.append(("done", str(source), None))
        except (ValueError, OSError, RuntimeError) as error:
            statuses.append(failure(report, source, stem, settings, str(error)))
    statuses = shard.gather(statuses)
    if not shard.is_main:
        return 0
    failed = [(source, error) for status, source, error in statuses if status == "failed"]
    for source, error in failed:
        print(f"failed: {source}: {error}")
    done = sum(status == "done" for status, *_ in statuses)
    summary = {
        "inputs": len(inputs),
        "done": done,
        "skipped": len(statuses) - done - len(failed),
        "failed": len(failed),
    }
    summary["report"] = str(output_dir / REPORT_NAME)
    text = f"{done} extracted, {summary['skipped']} already done, {len(failed)} failed (report: {summary['report']})"
    print(json.dumps(summary) if args.json else text)
    return 1 if failed else 0


def extract_targets(extractor, inputs, queries: list, options: dict) -> list:
    """One pipeline result per `--query` set (one set is asked as a plain query)."""
    results = extractor(inputs, query=queries if len(queries) > 1 else queries[0], **options)
    return results if isinstance(results, list) else [results]


def extract_one(extractor, source, queries, options, planned, output_dir: Path) -> dict:
    results = extract_targets(extractor, str(source), queries, options)
    written = []
    for kind, k, path in planned:
        result = results[k]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, result["audio"] if kind == "target" else result["residual"], result["sampling_rate"])
        written.append(path.relative_to(output_dir).as_posix())  # the report holds the folder
    return {
        "status": "done",
        "outputs": written,
        "targets": [{"query": r["query"], "refined_query": r["refined_query"]} for r in results],
        "class_probabilities": results[0]["class_probabilities"],
    }


def failure(report: BatchReport, source, stem, settings: dict, error: str) -> tuple:
    report.update({"input": str(source), "name": str(stem), "settings": settings, "status": "failed", "error": error})
    return ("failed", str(source), error)

"""The one extraction loop of `qrtse extract`: a single file is a run of one, a folder run many.

    qrtse extract recordings/ "more/**/*.flac" -q Bark -o extracted/ [--residual]
    accelerate launch --num_processes 2 -m modeling_qrtse.cli extract recordings/ -q Bark -o extracted/

For each input (`plan.Extraction`): refuse an output that would replace an input; skip, redo or
refuse by its report record (`batch_report.resume_decision`; a single file has no report, so an
existing output is refused without `--overwrite`); extract every `--query` set in one pipeline
call; write the outputs under temporary names and rename them (`output_files`), so a killed run
leaves no half-written file and its rerun gives exactly the outputs and report of an
uninterrupted run. What an input alone may raise (`audio_inputs_qrtse.INPUT_ERRORS`) fails that
input and the others go on.

Under `accelerate launch` each process takes every N-th input (its shard); all of them update
the same report, and the main process gets every outcome.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from modeling_qrtse.audio_inputs_qrtse import INPUT_ERRORS
from modeling_qrtse.cli.batch_report import resume_decision
from modeling_qrtse.cli.output_files import write_audio


@dataclass
class Outcome:
    """What became of one input. `targets` (done only): per query set its query, refined query,
    `chunks` / `segments` (chunk and frame refinement), output path, sampling rate and seconds."""

    source: str
    status: str  # "done", "skipped" or "failed"
    error: str | None = None
    class_probabilities: dict | None = None
    targets: list = field(default_factory=list)


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


def run_extractions(extractor, extractions, queries, options, overwrite=False, report=None, settings=None, quiet=False):
    """Extract and write every `plan.Extraction`: the `Outcome`s of every process on the main
    process (None on the others). `report` (a folder run's `BatchReport`) gets a record per input
    made with `settings`; a progress bar shows when there are several inputs and not `quiet`."""
    from tqdm.auto import tqdm

    sources = {Path(e.source).resolve() for e in extractions if isinstance(e.source, (str, Path))}
    earlier = report.records() if report is not None else {}
    shard = Shard()
    mine = shard.take(extractions)
    outcomes = [
        run_one(extractor, extraction, queries, options, overwrite, report, earlier, settings, sources)
        for extraction in tqdm(mine, desc="extract", unit="file", disable=quiet or len(extractions) < 2)
    ]
    outcomes = shard.gather(outcomes)
    return outcomes if shard.is_main else None


def run_one(extractor, extraction, queries, options, overwrite, report, earlier, settings, sources) -> Outcome:
    """One input: the checks, the extraction and its files, the report's records (module docstring)."""
    source = extraction.label
    record = {"input": source, "name": extraction.name, "settings": settings}

    def failed(error: str) -> Outcome:
        if report is not None:
            report.update(record | {"status": "failed", "error": error})
        return Outcome(source, "failed", error)

    if any(path.resolve() in sources for *_, path in extraction.outputs):
        return failed("an output would replace an input file")
    decision = resume_decision(earlier.get(extraction.name), extraction.outputs, settings, overwrite)
    if decision == "skip":
        return Outcome(source, "skipped")
    if decision != "run":  # refused: the earlier record stays, describing the files that exist
        return Outcome(source, "failed", decision)
    if report is not None:
        report.update(record | {"status": "running"})
    try:
        outcome = extract_and_write(extractor, extraction, queries, options)
    except INPUT_ERRORS as error:
        return failed(str(error))
    if report is not None:
        written = [path.relative_to(report.output_dir).as_posix() for *_, path in extraction.outputs]
        targets = [{"query": t["query"], "refined_query": t["refined_query"]} for t in outcome.targets]
        done = {"status": "done", "outputs": written, "targets": targets}  # the report holds the folder
        report.update(record | done | {"class_probabilities": outcome.class_probabilities})
    return outcome


def extract_targets(extractor, inputs, queries: list, options: dict) -> list:
    """One pipeline result per `--query` set (one set is asked as a plain query)."""
    results = extractor(inputs, query=queries if len(queries) > 1 else queries[0], **options)
    return results if isinstance(results, list) else [results]


def extract_and_write(extractor, extraction, queries, options) -> Outcome:
    source = extraction.source
    results = extract_targets(extractor, str(source) if isinstance(source, Path) else source, queries, options)
    for kind, k, path in extraction.outputs:
        result = results[k]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, result["audio"] if kind == "target" else result["residual"], result["sampling_rate"])
    outputs = [path for kind, _, path in extraction.outputs if kind == "target"]
    targets = [
        {
            "query": r["query"],
            "refined_query": r["refined_query"],
            "chunks": r.get("chunks"),
            "segments": r.get("segments"),
            "output": str(path),
            "sampling_rate": r["sampling_rate"],
            "seconds": len(r["audio"]) / r["sampling_rate"],
        }
        for r, path in zip(results, outputs)
    ]
    return Outcome(extraction.label, "done", class_probabilities=results[0]["class_probabilities"], targets=targets)

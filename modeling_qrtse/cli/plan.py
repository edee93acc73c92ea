"""What a `qrtse extract` run reads and writes, decided and checked before the model is loaded.

A run is a list of `Extraction`s, one per input. A single file with `-o FILE` is a run of one
whose outputs are named after FILE: FILE itself (`<stem>_1<suffix>`, ... for several `--query`;
`<stem>_residual<suffix>` with `--residual`). Several files, folders or glob patterns are a
folder run into `-o OUTDIR`: each input `<name>` becomes `<OUTDIR>/<name>.wav` with the same
endings, keeping the sub-folders of a folder input, and `<OUTDIR>/report.json` records every
input (`batch_report`); files below `<OUTDIR>` are never inputs.
"""

import glob
from dataclasses import dataclass
from pathlib import Path

from modeling_qrtse.audio_inputs_qrtse import AUDIO_SUFFIXES
from modeling_qrtse.cli.batch_report import BatchReport
from modeling_qrtse.cli.output_files import check_output_paths, check_writable_folder


@dataclass
class Extraction:
    """One input of a run and the files it writes."""

    source: object  # a file path, or {"array", "sampling_rate"} (a shipped example)
    name: str  # the report's key in a folder run: the outputs' stem below the folder
    outputs: list  # (kind, k, path): kind "target" or "residual" of query set k

    @property
    def label(self) -> str:
        """The input as messages name it: its path, or the run's name for an in-memory example."""
        return str(self.source) if isinstance(self.source, (str, Path)) else self.name


def is_folder_run(mixtures: list) -> bool:
    """Several inputs, a folder or a pattern: extraction into a folder."""
    return len(mixtures) > 1 or any(Path(m).is_dir() or glob.has_magic(m) for m in mixtures)


def outputs_of(base: Path, suffix: str, num_queries: int, residual: bool) -> list:
    """`(kind, k, path)` of every file one input writes, named after `base` + `suffix`."""
    numbers = [""] if num_queries == 1 else [f"_{k + 1}" for k in range(num_queries)]
    paths = [("target", k, base.with_name(f"{base.name}{n}{suffix}")) for k, n in enumerate(numbers)]
    if residual:
        paths += [("residual", k, base.with_name(f"{base.name}{n}_residual{suffix}")) for k, n in enumerate(numbers)]
    return paths


def plan_file(source, output, num_queries: int, residual: bool, overwrite: bool, also_written=()) -> list:
    """The run of one input: ValueError, before any work, for an output that cannot be written
    (see `output_files.check_output_paths`); `also_written` are other files the run writes."""
    output = Path(output)
    extraction = Extraction(
        source, output.stem, outputs_of(output.with_suffix(""), output.suffix, num_queries, residual)
    )
    inputs = [source] if isinstance(source, (str, Path)) else []
    check_output_paths([path for *_, path in extraction.outputs] + list(also_written), inputs, overwrite)
    return [extraction]


def plan_folder(specs, output_dir, num_queries: int, residual: bool, overwrite: bool) -> tuple:
    """`(extractions, report)` of a folder run: ValueError, before any work, for an input that
    matches nothing, an output folder that is a file or not writable, or a foreign report."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"-o {output_dir} must be a folder when extracting several files")
    inputs = expand_inputs(specs, exclude=output_dir)
    check_writable_folder(output_dir)
    report = BatchReport(output_dir)
    report.check_replaceable(overwrite)
    extractions = [
        Extraction(source, str(stem), outputs_of(output_dir / stem, ".wav", num_queries, residual))
        for source, stem in inputs
    ]
    return extractions, report


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

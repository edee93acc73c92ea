"""`<OUTDIR>/report.json` of a folder extraction: one record per input, kept across reruns.

A record is written before an input's outputs (status "running", with the settings that will
make them) and again when they are written ("done") or the input failed ("failed"), so the
report is current after every input and a rerun knows which files it made and how. Every update
reads, changes and atomically replaces the file under an exclusive lock on the folder, so
processes of one run and concurrent runs never lose each other's records. A `report.json` that
is not such a report is never replaced without `--overwrite`.

A rerun resumes (`resume_decision`): an input is skipped only when all of its outputs exist and
its record says they were made with the same settings (`extraction_settings`); otherwise it is
redone. Outputs that exist without such a record (another query, threshold or model, or files
qrtse did not write) are never replaced without `--overwrite`: that input is reported as failed.
"""

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

from modeling_qrtse.cli.output_files import write_text

REPORT_NAME = "report.json"


class BatchReport:
    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        self.path = self.output_dir / REPORT_NAME

    @contextmanager
    def _locked(self):
        descriptor = os.open(self.output_dir, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)

    def _parse(self) -> dict | None:
        """The records by input name; None when the file is not a report of this command."""
        try:
            records = json.loads(self.path.read_text())
            return {record["name"]: record for record in records if "settings" in record}
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def _read(self) -> dict:
        if not self.path.exists():
            return {}
        return self._parse() or {}  # replaced only with --overwrite (check_replaceable)

    def check_replaceable(self, overwrite: bool) -> None:
        """ValueError, before any work, when `report.json` exists and is not one of ours."""
        if self.path.is_dir() or (self.path.exists() and self._parse() is None and not overwrite):
            raise ValueError(f"{self.path} exists and is not a report of qrtse extract; pass --overwrite to replace it")

    def records(self) -> dict:
        with self._locked():
            return self._read()

    def update(self, record: dict) -> None:
        with self._locked():
            report = self._read()
            report[record["name"]] = record
            write_text(self.path, json.dumps(sorted(report.values(), key=lambda r: r["name"]), indent=2))


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


def resume_decision(record, planned: list, settings, overwrite: bool) -> str:
    """ "skip", "run", or the reason to refuse: see the module docstring. Without a report
    (`record` None) existing outputs are refused unless `overwrite`."""
    existing = [path for *_, path in planned if path.exists()]
    made_here = record is not None and record.get("settings") == settings
    if made_here and record.get("status") == "done" and len(existing) == len(planned):
        return "skip"
    if overwrite or not existing or made_here:
        return "run"
    names = ", ".join(path.name for path in existing)
    return f"{names} already exist and were not made with these settings; pass --overwrite to replace them"

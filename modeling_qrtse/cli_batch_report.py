"""`<OUTDIR>/report.json` of a batch extraction: one record per input, kept across reruns.

A record is written before an input's outputs (status "running", with the settings that will
make them) and again when they are written ("done") or the input failed ("failed"), so the
report is current after every input and a rerun knows which files it made and how. Every update
reads, changes and atomically replaces the file under an exclusive lock on the folder, so
processes of one run and concurrent runs never lose each other's records.
"""

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from .cli_output_files import write_text

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

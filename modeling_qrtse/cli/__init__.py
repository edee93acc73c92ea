"""The `qrtse` command (package only: never shipped as remote code).

- `main`: the argument parser; each subcommand registers itself from its own module (`summary`,
  `classes`, `extract`, `export_onnx`).
- `extract`: `qrtse extract`'s arguments; `plan`: its inputs and the files each one writes;
  `driver`: the one loop over inputs (a single file is a run of one); `batch_report`: the
  `report.json` of a folder run; `extract_summary`: what it prints.
- `models`: which model a command loads, and one line instead of a traceback when it cannot.
- `output_files`: the one rule for every file a command writes.
"""

from .main import main

__all__ = ["main"]

"""The `qrtse` command (package only: never shipped as remote code).

- `main`: the argument parser; each subcommand registers itself from its own module (`summary`,
  `classes`, `extract`, `stream`, `export_onnx`).
- `extract`: `qrtse extract`'s arguments; `plan`: its inputs and the files each one writes;
  `driver`: the one loop over inputs (a single file is a run of one); `batch_report`: the
  `report.json` of a folder run; `extract_summary`: what it prints.
- `stream`: `qrtse stream`, a causal model on a live WAV / raw PCM stream; `stream_io`: reading
  and writing that audio chunk by chunk (pipes included).
- `models`: which model a command loads, and one line instead of a traceback when it cannot.
- `output_files`: the one rule for every file a command writes.
"""

from .main import main

__all__ = ["main"]

"""The one rule for every file the command line writes (audio, reports, ONNX graphs).

- An existing file is never replaced without `--overwrite`, and an input never at all.
- Outputs are checked before any work: the name (a file, not a folder; a format we write), the
  folder (made if missing, writable).
- A file is written under a temporary name in its own folder and renamed, so an interrupted run
  never leaves a half-written file under an output's name. The temporary name carries the
  writer's pid and a random token, so two runs never share one; temporaries of runs that no
  longer exist are removed before a name is written again.
"""

import os
import re
import secrets
import sys
from pathlib import Path

import numpy as np

# Endings the audio writer produces: 16-bit PCM in WAV or FLAC, lossless formats every player and
# libsndfile build reads (inputs may be any of `audio_inputs_qrtse.AUDIO_SUFFIXES`; a lossy or
# less common format is never an output).
WRITTEN_AUDIO_SUFFIXES = (".wav", ".flac")
_PARTIAL = re.compile(r"\.partial-(\d+)-[0-9a-f]+$")


def check_output_paths(paths, inputs=(), overwrite: bool = False, suffixes=WRITTEN_AUDIO_SUFFIXES) -> None:
    """ValueError, before any work, for an output that is an input, a folder, of a format not
    written, existing without `overwrite`, or in a folder that cannot be made or written."""
    sources = {Path(source).resolve() for source in inputs if source is not None}
    for path in map(Path, paths):
        if path.resolve() in sources:
            raise ValueError(f"output {path} is an input; choose another output (inputs are never overwritten)")
        if path.is_dir():
            raise ValueError(f"output {path} is a folder; give a file name ending in {' or '.join(suffixes)}")
        if path.suffix.lower() not in suffixes:
            found = f"'{path.suffix}'" if path.suffix else "no ending"
            raise ValueError(f"output {path} has {found}; this command writes {' or '.join(suffixes)} files")
        if path.exists() and not overwrite:
            raise ValueError(f"output {path} exists; pass --overwrite to replace it")
        check_writable_folder(path.parent)


def check_writable_folder(folder: Path) -> None:
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot write to {folder}: {error.strerror or error}") from error
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write to {folder}: the folder is not writable")


def partial_path(path: Path) -> Path:
    """A fresh temporary name next to `path`, unique to this process and call."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(path: Path) -> None:
    """Temporaries for `path` left by runs that were killed (their pid no longer exists)."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    for candidate in path.parent.glob(f".{path.name}.partial-*"):
        match = _PARTIAL.search(candidate.name)
        if match and not _alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)


def write_atomically(path: Path, write) -> None:
    """Call `write(temporary_path)`, then rename the temporary file to `path`."""
    path = Path(path)
    remove_stale_partials(path)
    partial = partial_path(path)
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        partial.unlink(missing_ok=True)


def write_audio(path: Path, audio, sampling_rate: int) -> None:
    """16-bit PCM (what every player reads); samples beyond full scale are clipped, with a warning."""
    import soundfile

    path = Path(path)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        print(f"warning: {path} peaks at {peak:.2f}; clipped to full scale", file=sys.stderr)
    file_format = {".wav": "WAV", ".flac": "FLAC"}[path.suffix.lower()]
    write_atomically(
        path,
        lambda partial: soundfile.write(
            str(partial), np.clip(audio, -1.0, 1.0), sampling_rate, subtype="PCM_16", format=file_format
        ),
    )


def write_text(path: Path, text: str) -> None:
    write_atomically(path, lambda partial: Path(partial).write_text(text))

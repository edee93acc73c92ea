"""`make test` (the README's test command) sets up everything its tests need: the `browser` target
installs Chromium and FFmpeg (the Live tab's streamed audio) with apt where they are missing, and says clearly what to do where there is no apt.
Run against fake `apt-get` / `id` / `sudo` on PATH; real Chromium is never touched."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def fake_bin(tmp_path, uid: str, with_apt: bool) -> Path:
    """A PATH folder with the shell tools make's recipe uses, a fake `id`, and (optionally) a fake
    `apt-get` and `sudo` that record how they were called."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("sh", "echo", "cat", "env"):
        os.symlink(shutil.which(tool), folder / tool)
    (folder / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if with_apt:
        (folder / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> {tmp_path}/calls\n')
        (folder / "sudo").write_text(f'#!/bin/sh\necho "sudo" >> {tmp_path}/calls\nexec "$@"\n')
    for path in folder.iterdir():
        if not path.is_symlink():
            path.chmod(0o755)
    return folder


def run_browser_target(tmp_path, uid="0", with_apt=True):
    path = fake_bin(tmp_path, uid, with_apt)
    return subprocess.run(
        [MAKE, "-s", "-C", str(ROOT), "browser"], check=False, env={"PATH": str(path)}, capture_output=True, text=True
    )


def test_installs_chromium_and_ffmpeg_with_apt_as_root(tmp_path):
    result = run_browser_target(tmp_path)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == ["apt-get update -qq", "apt-get install -y -qq chromium ffmpeg"]


def test_uses_sudo_when_not_root(tmp_path):
    result = run_browser_target(tmp_path, uid="1000")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text().splitlines()[0] == "sudo"


def test_without_apt_says_what_is_missing(tmp_path):
    result = run_browser_target(tmp_path, with_apt=False)
    assert result.returncode != 0 and "Chromium or FFmpeg is missing and there is no apt-get" in result.stderr


def test_ci_calls_the_readme_test_command_and_make_test_depends_on_browser():
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
    assert "test: setup browser" in (ROOT / "Makefile").read_text()

"""The Space served for real: `spaces/app.py` in a subprocess on 127.0.0.1 with a tiny random
model, shared by the browser, API and load tests."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from modeling_qrtse import QrtseConfig, QrtseFeatureExtractor, QrtseModel

REPOSITORY = Path(__file__).parents[2]
SPACE = REPOSITORY / "spaces"
sys.path.insert(0, str(SPACE))  # the Space's modules import each other flatly, as on a Space


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Space exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the Space did not answer at {url} within {timeout} s")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("space_model")
    torch.manual_seed(0)
    model = QrtseModel(QrtseConfig.from_preset("tiny")).eval()
    model.save_pretrained(folder)
    QrtseFeatureExtractor(sampling_rate=model.config.sampling_rate).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def space_url(tiny_model_dir, tmp_path_factory):
    """URL of the running Space; stopped (its own process only) at the end of the session."""
    root = tmp_path_factory.mktemp("space")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(root / "gradio")}
    command = [
        sys.executable,
        str(SPACE / "app.py"),
        "--model",
        str(tiny_model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--examples-dir",
        str(root / "examples"),
    ]
    with running_space(command, root, env, port) as url:
        yield url


@contextlib.contextmanager
def running_space(command: list, root: Path, env: dict, port: int):
    """Run `command` (the Space on `port`), log to `root / "space.log"`, yield its URL once it
    answers; then stop it (its own process only)."""
    url = f"http://127.0.0.1:{port}/"
    with open(root / "space.log", "w") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(url, process)
        except (RuntimeError, TimeoutError) as error:
            process.kill()
            raise RuntimeError(f"{error}:\n" + (root / "space.log").read_text()[-4000:]) from None
        try:
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def mixture_file(tmp_path_factory):
    """3 s of enveloped noise and a tone at 22.05 kHz stereo: resampled and downmixed by the app."""
    path = tmp_path_factory.mktemp("mixture") / "mixture.wav"
    rng = np.random.default_rng(0)
    rate, seconds = 22050, 3.0
    t = np.arange(int(rate * seconds)) / rate
    audio = 0.1 * rng.standard_normal(t.size) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t)) + 0.2 * np.sin(
        2 * np.pi * 440 * t
    )
    sf.write(path, np.stack([audio, 0.5 * audio], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path

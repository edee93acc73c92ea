"""`qrtse stream` (issue 31): WAV and raw PCM through real pipes, chunk by chunk, equal to the
model's offline output; the latency, refined query and compute times on stderr; one-line errors."""

import io
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from pipeline_helpers import noise
from pipeline_helpers import run_cli as run

from modeling_qrtse import QrtseConfig, QrtseModel, default_checkpoint
from modeling_qrtse.cli.stream_io import open_reader
from modeling_qrtse.default_checkpoint import default_model_available
from modeling_qrtse.feature_extraction_qrtse import to_mono

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
RATE = 16000
TIMEOUT = 300  # a fresh interpreter imports torch and transformers; slow on a busy machine


@pytest.fixture(scope="session")
def causal_folder(tmp_path_factory):
    """A tiny random causal model saved with `save_pretrained` (no trained causal model exists yet)."""
    folder = tmp_path_factory.mktemp("tiny_causal")
    torch.manual_seed(0)
    QrtseModel(QrtseConfig.from_preset("tiny", causal=True)).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def offline(causal_folder):
    """`offline(audio, threshold=None)`: the model's offline output for "Bark" (float32 numpy)."""
    model = QrtseModel.from_pretrained(causal_folder).eval()
    query = torch.zeros(1, model.config.num_labels)
    query[0, model.config.label2id["Bark"]] = 1

    def extract(audio, threshold=None):
        with torch.inference_mode():
            output = model(torch.from_numpy(np.ascontiguousarray(audio))[None], query, threshold=threshold)
        return output.extracted_values[0].numpy()

    return extract


def stream_command(causal_folder, *extra) -> list:
    return [sys.executable, "-m", "modeling_qrtse.cli", "stream", "-q", "Bark", "--model", str(causal_folder), *extra]


def run_piped(causal_folder, data: bytes, *extra) -> subprocess.CompletedProcess:
    """`qrtse stream` in a fresh process, `data` piped into its stdin, its stdout a pipe."""
    command = stream_command(causal_folder, *extra)
    return subprocess.run(command, input=data, cwd=ROOT, env=ENV, capture_output=True, timeout=TIMEOUT, check=False)


def piped_wav(audio, subtype: str) -> bytes:
    """WAV bytes as ffmpeg writes them to a pipe: the RIFF and data lengths unknown (0xFFFFFFFF)."""
    buffer = io.BytesIO()
    sf.write(buffer, audio, RATE, subtype=subtype, format="WAV")
    data = bytearray(buffer.getvalue())
    data[4:8] = b"\xff" * 4
    at = data.index(b"data")
    data[at + 4 : at + 8] = b"\xff" * 4
    return bytes(data)


def as_pcm16(audio) -> np.ndarray:
    """What 16-bit PCM stores for float samples (libsndfile's scaling)."""
    return np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)


def read_while_running(process, size: int) -> bytes:
    """At least `size` bytes of the process's stdout, read while its stdin is still open."""
    received = b""
    deadline = time.monotonic() + TIMEOUT
    while len(received) < size:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no output after {TIMEOUT} s with {len(received)} of {size} bytes"
        piece = os.read(process.stdout.fileno(), 1 << 16)
        assert piece, process.stderr.read().decode()[-3000:]
        received += piece
    return received


@pytest.mark.slow
def test_a_wav_pipe_streams_the_offline_output_before_its_input_ends(causal_folder, offline):
    audio = noise(2.0, RATE)
    data = piped_wav(audio, "PCM_16")
    half = len(data) // 2
    process = subprocess.Popen(
        stream_command(causal_folder),
        cwd=ROOT,
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        process.stdin.write(data[:half])
        process.stdin.flush()
        # Output arrives while the input is still open: the stream is never read whole first.
        early = read_while_running(process, 44 + RATE)
        rest, stderr = process.communicate(data[half:], timeout=TIMEOUT)
    finally:
        process.kill()
    stderr = stderr.decode()
    assert process.returncode == 0, stderr[-3000:]
    output = early + rest
    assert output[:4] == b"RIFF" and output[4:8] == b"\xff" * 4  # a pipe's WAV: lengths unknown
    streamed, rate = sf.read(io.BytesIO(output), dtype="int16")
    decoded, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == RATE and streamed.shape == audio.shape
    assert np.abs(streamed.astype(int) - as_pcm16(offline(decoded))).max() <= 1
    assert "latency: 15.0 ms = 5.0 ms algorithmic" in stderr and "10.0 ms buffering" in stderr
    assert "s: extracting Bark" in stderr
    assert "streamed 2.00 s in 200 chunks; compute per 10 ms chunk: mean" in stderr and "p99" in stderr


@pytest.mark.slow
def test_a_float_stereo_wav_is_down_mixed_and_streamed_as_float(causal_folder, offline):
    audio = noise(1.3, RATE, channels=2, seed=1)
    data = piped_wav(audio, "FLOAT")  # libsndfile adds a PEAK chunk: skipped
    result = run_piped(causal_folder, data, "--chunk-ms", "7.3")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    info = sf.info(io.BytesIO(result.stdout))
    streamed, _ = sf.read(io.BytesIO(result.stdout), dtype="float32")
    assert info.subtype == "FLOAT" and info.channels == 1 and len(streamed) == len(audio)
    np.testing.assert_allclose(streamed, offline(to_mono(audio, channel_axis=1)), atol=1e-6, rtol=0)
    assert "2 channels down-mixed to mono" in result.stderr.decode()


@pytest.mark.slow
def test_raw_pcm_through_a_pipe(causal_folder, offline):
    audio = as_pcm16(noise(1.0, RATE, seed=2))
    result = run_piped(causal_folder, audio.astype("<i2").tobytes(), "--format", "raw", "--chunk-ms", "20")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    streamed = np.frombuffer(result.stdout, "<i2")
    assert streamed.shape == audio.shape
    assert np.abs(streamed.astype(int) - as_pcm16(offline(audio / np.float32(32768)))).max() <= 1


@pytest.mark.slow
def test_ctrl_c_ends_the_stream_and_completes_the_file(causal_folder, offline, tmp_path):
    audio = noise(0.5, RATE, seed=3)
    data = piped_wav(audio, "PCM_16")
    out = tmp_path / "live.wav"
    process = subprocess.Popen(
        stream_command(causal_folder, "-o", out), cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        process.stdin.write(data)  # and the input stays open, as a microphone's does
        process.stdin.flush()
        lines = []
        while not any("extracting" in line for line in lines):
            line = process.stderr.readline().decode()
            assert line, "".join(lines)
            lines.append(line)
        time.sleep(2.0)  # the stream is now waiting for more input
        process.send_signal(signal.SIGINT)
        # stdin stays open and silent until the process has ended (a stalled source): closing it first
        # (as communicate does) could let the process see the end of its input before the signal.
        # The signal may reach one of torch's threads; the reader's waits return to Python every
        # 0.1 s, so the main thread still sees it without more input.
        process.wait(timeout=60)  # the flush of the last chunk, not more input
        stderr = process.stderr.read()
    finally:
        process.kill()
    assert process.returncode == 130, stderr.decode()[-3000:]
    assert "interrupted: the stream was flushed" in stderr.decode()
    streamed, _ = sf.read(out, dtype="int16")  # the file's lengths are written: a complete file
    assert sf.info(out).frames == len(streamed) == len(audio)
    header = out.read_bytes()[:44]
    assert header[4:8] == (36 + 2 * len(audio)).to_bytes(4, "little") and header[40:] == (2 * len(audio)).to_bytes(
        4, "little"
    )
    decoded, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert np.abs(streamed.astype(int) - as_pcm16(offline(decoded))).max() <= 1
    assert [p.name for p in tmp_path.iterdir()] == ["live.wav"]


def read_all(data: bytes, chunk: int = 333) -> np.ndarray:
    reader = open_reader(io.BytesIO(data), "wav", RATE)
    chunks = []
    while (samples := reader.read(chunk)) is not None:
        chunks.append(samples)
    return np.concatenate(chunks)


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("container", ["WAV", "WAVEX", "RF64"])
def test_the_wav_reader_reads_what_libsndfile_writes(container, subtype):
    audio = noise(0.3, RATE, channels=3, seed=5)
    buffer = io.BytesIO()
    sf.write(buffer, audio, RATE, subtype=subtype, format=container)
    expected, _ = sf.read(io.BytesIO(buffer.getvalue()), dtype="float32")
    np.testing.assert_array_equal(read_all(buffer.getvalue()), to_mono(expected, channel_axis=1))


@pytest.mark.parametrize("length", ["exact", "unknown", "too_long"])
def test_the_data_length_ends_the_stream_where_it_is_known(length):
    audio = as_pcm16(noise(0.1, RATE, seed=6))
    data = bytearray(piped_wav(audio, "PCM_16"))
    at = data.index(b"data") + 4
    declared = {"exact": 2 * len(audio), "unknown": 0, "too_long": 0x7FFFF000}[length]
    data[at : at + 4] = declared.to_bytes(4, "little")
    trailing = b"LIST\x04\x00\x00\x00INFO" if length == "exact" else b""  # a chunk after the samples
    np.testing.assert_array_equal(read_all(bytes(data) + trailing, chunk=160), audio / np.float32(32768))


@pytest.fixture
def mixture_file(tmp_path):
    path = tmp_path / "mix.wav"
    sf.write(path, noise(0.6, RATE, seed=4), RATE, subtype="PCM_16")
    return path


def test_a_file_to_a_file(capsys, causal_folder, offline, mixture_file, tmp_path):
    out = tmp_path / "out" / "extracted.wav"
    code, stdout, stderr = run(capsys, "stream", "-q", "bark", "--model", causal_folder, "-i", mixture_file, "-o", out)
    assert code == 0 and stdout == "", stderr
    info = sf.info(out)
    streamed, _ = sf.read(out, dtype="int16")
    assert info.frames == len(streamed) == RATE * 6 // 10 and info.samplerate == RATE
    decoded, _ = sf.read(mixture_file, dtype="float32")
    assert np.abs(streamed.astype(int) - as_pcm16(offline(decoded))).max() <= 1


@pytest.mark.parametrize("threshold, said", [("0", "extracting Bark"), ("1", "extracting nothing (Bark not heard)")])
def test_the_refined_query_is_reported(capsys, causal_folder, offline, mixture_file, tmp_path, threshold, said):
    out = tmp_path / "out.raw"
    raw = tmp_path / "mix.raw"
    raw.write_bytes(sf.read(mixture_file, dtype="int16")[0].astype("<i2").tobytes())
    argv = ["stream", "-q", "Bark", "--model", causal_folder, "-i", raw, "-o", out, "--format", "raw"]
    code, _, stderr = run(capsys, *argv, "--threshold", threshold)
    assert code == 0, stderr
    assert sum("s: extracting" in line for line in stderr.splitlines()) == 1 and f"0.01 s: {said}" in stderr
    streamed = np.frombuffer(out.read_bytes(), "<i2")
    expected = as_pcm16(offline(sf.read(mixture_file, dtype="float32")[0], threshold=float(threshold)))
    assert np.abs(streamed.astype(int) - expected).max() <= 1


def test_realtime_paces_reading(capsys, monkeypatch, causal_folder, mixture_file, tmp_path):
    slept = []
    real_sleep = time.sleep
    monkeypatch.setattr("modeling_qrtse.cli.stream.time.sleep", lambda s: (slept.append(s), real_sleep(s)))
    argv = ["stream", "-q", "Bark", "--model", causal_folder, "-i", mixture_file, "--chunk-ms", "50"]
    code, _, stderr = run(capsys, *argv, "-o", tmp_path / "fast.wav")
    assert code == 0 and slept == [], stderr
    began = time.monotonic()
    code, _, stderr = run(capsys, *argv, "-o", tmp_path / "paced.wav", "--realtime")
    assert code == 0 and len(slept) == 12 and time.monotonic() - began >= 0.6, stderr


def _write(path: Path, audio, rate, subtype) -> Path:
    sf.write(path, audio, rate, subtype=subtype)
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ("non_causal", "streaming needs a causal model and"),
        pytest.param(
            "default_model",
            "streaming needs a causal model and the embedded default model is not one",
            marks=pytest.mark.skipif(not default_model_available(), reason="embedded checkpoint not trained yet"),
        ),
        ("unknown_class", "Unknown class 'dog'. Did you mean 'Bark'?"),
        ("not_wav", "the input is not a WAV stream (no RIFF/WAVE header); for raw s16le PCM pass --format raw"),
        ("pcm24", "unsupported WAV samples (24-bit PCM): stream 16-bit PCM or 32-bit float"),
        ("rate", "the input is at 44100 Hz and the model at 16000 Hz; resample upstream"),
        ("no_data", "the WAV stream ends before its audio"),
        ("chunk_ms", "--chunk-ms must be a positive number"),
        ("threshold", "threshold"),
        ("missing_input", "input missing.wav not found"),
        ("output_suffix", "has '.mp3'; this command writes .wav files"),
        ("output_is_input", "is an input"),
    ],
)
def test_bad_input_is_one_line(
    capsys, monkeypatch, causal_folder, tiny_pipeline_folder, mixture_file, tmp_path, case, message
):
    out = tmp_path / "out.wav"
    source, model, extra = mixture_file, causal_folder, []
    if case == "non_causal":
        model = tiny_pipeline_folder
    elif case == "default_model":  # as before a causal model is embedded
        model = None
        monkeypatch.setattr(default_checkpoint, "causal_model_available", lambda: False)
    elif case == "unknown_class":
        extra = ["-q", "dog"]
    elif case == "not_wav":
        source = tmp_path / "noise.wav"
        source.write_bytes(b"not a wave file at all")
    elif case == "pcm24":
        source = _write(tmp_path / "deep.wav", noise(0.2, RATE), RATE, "PCM_24")
    elif case == "rate":
        source = _write(tmp_path / "cd.wav", noise(0.2, 44100), 44100, "PCM_16")
    elif case == "no_data":
        source = tmp_path / "header.wav"
        source.write_bytes(mixture_file.read_bytes()[:36])
    elif case == "chunk_ms":
        extra = ["--chunk-ms", "0"]
    elif case == "threshold":
        extra = ["--threshold", "2"]
    elif case == "missing_input":
        source = Path("missing.wav")
    elif case == "output_suffix":
        out = tmp_path / "out.mp3"
    elif case == "output_is_input":
        out = mixture_file
    before = mixture_file.read_bytes()
    models = [] if model is None else ["--model", model]
    code, stdout, stderr = run(capsys, "stream", "-q", "Bark", *models, "-i", source, "-o", out, *extra)
    assert code == 2 and stdout == ""
    assert stderr.startswith("qrtse stream: error: ") and message in stderr and len(stderr.splitlines()) == 1
    assert mixture_file.read_bytes() == before
    assert (out == mixture_file or not out.exists()) and not list(tmp_path.glob(".*partial*"))


def test_without_model_the_embedded_causal_model_streams(capsys, monkeypatch, causal_folder, mixture_file, tmp_path):
    monkeypatch.setattr(default_checkpoint, "causal_model_path", lambda: Path(causal_folder))
    monkeypatch.setattr(default_checkpoint, "causal_model_available", lambda: True)
    code, _, stderr = run(capsys, "stream", "-q", "Bark", "-i", mixture_file, "-o", tmp_path / "out.wav")
    assert code == 0, stderr
    assert sf.info(tmp_path / "out.wav").frames == sf.info(mixture_file).frames


def test_an_existing_output_is_refused_before_anything_is_read(capsys, monkeypatch, causal_folder, tmp_path):
    class Unreadable:
        def read(self, *args):
            raise AssertionError("the input was read")

        def isatty(self):
            return False

        buffer = property(lambda self: self)

    monkeypatch.setattr(sys, "stdin", Unreadable())
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    # No model is loaded either: this one does not exist.
    code, _, stderr = run(capsys, "stream", "-q", "Bark", "--model", tmp_path / "no_model", "-o", out)
    assert code == 2 and "exists; pass --overwrite to replace it" in stderr and out.read_bytes() == b"keep me"
    source = _write(tmp_path / "mix.wav", noise(0.2, RATE), RATE, "PCM_16")
    code, _, stderr = run(capsys, "stream", "-q", "Bark", "--model", causal_folder, "-i", source, "-o", out)
    assert code == 2 and out.read_bytes() == b"keep me"
    code, _, stderr = run(
        capsys, "stream", "-q", "Bark", "--model", causal_folder, "-i", source, "-o", out, "--overwrite"
    )
    assert code == 0 and sf.info(out).frames == RATE // 5, stderr


def test_the_stream_command_is_listed(capsys):
    with pytest.raises(SystemExit):
        run(capsys, "--help")
    assert "stream" in capsys.readouterr().out

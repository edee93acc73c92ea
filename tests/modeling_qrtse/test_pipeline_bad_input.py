"""Bad or degenerate input gives a clear error or a documented result, never NaN."""

import contextlib
import http.server
import threading
import time

import numpy as np
import pytest
import soundfile as sf
import torch
from pipeline_helpers import noise, wav_bytes

from modeling_qrtse import QrtseConfig, audio_inputs_qrtse
from modeling_qrtse.chunking_qrtse import context_samples
from modeling_qrtse.long_form_qrtse import CROSSFADE_S, MIN_CHUNK_LENGTH_S, check_long_form_options

QUERY = ["Trumpet", "Bark"]


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.zeros(0, np.float32), "empty"),
        ({"array": np.zeros((0, 2), np.float32), "sampling_rate": 44100}, "empty"),
        (np.array([0.1, np.nan, 0.2] * 1000, np.float32), "NaN"),
        (np.array([0.1, np.inf] * 1000, np.float32), "NaN or Inf"),
        (np.zeros((2, 2, 100)), "1-D"),
        ({"array": np.zeros(100)}, "sampling_rate"),
        (b"definitely not audio", "Could not decode"),
        (12345, "Audio input must be"),
    ],
)
def test_bad_audio_raises_value_error(tiny_pipeline, audio, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(audio, query=QUERY)


def test_missing_file(tiny_pipeline, tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        tiny_pipeline(str(tmp_path / "nothing.wav"), query=QUERY)


def test_unreadable_file(tiny_pipeline, tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(ValueError, match="broken.wav"):
        tiny_pipeline(str(path), query=QUERY)


@pytest.mark.parametrize("seconds", [0.5, 5.0])
def test_silence_in_gives_silence_out(tiny_pipeline, seconds):
    out = tiny_pipeline(np.zeros(int(seconds * 16000), np.float32), query=QUERY, chunk_length_s=2.0)
    assert out["audio"].shape == (int(seconds * 16000),)
    assert not out["audio"].any()
    assert all(np.isfinite(p) for p in out["class_probabilities"].values())


def test_audio_shorter_than_one_encoder_window(tiny_pipeline):
    out = tiny_pipeline(np.full(7, 0.1, np.float32), query=QUERY)
    assert out["audio"].shape == (7,) and np.isfinite(out["audio"]).all()


def test_very_loud_and_very_quiet_input_stay_finite(tiny_pipeline):
    for scale in (1e-9, 1e3):
        out = tiny_pipeline(noise(0.5) * scale, query=QUERY)
        assert np.isfinite(out["audio"]).all()


def test_unknown_label_and_empty_query(tiny_pipeline):
    with pytest.raises(ValueError, match="Unknown class 'Dgo'"):
        tiny_pipeline(noise(0.2), query=["Dgo"])
    with pytest.raises(ValueError, match="names no class"):
        tiny_pipeline(noise(0.2), query=[""])


def test_bad_dataset_row_query(tiny_pipeline):
    row = {"audio": {"array": noise(0.2), "sampling_rate": 16000}, "query": ["kitten"]}
    with pytest.raises(ValueError, match="'Meow'"):
        tiny_pipeline(row)


# --- URLs: a timeout and a size limit (loopback servers only; every loop is bounded) ---


@contextlib.contextmanager
def serve(handler_class):
    """`http://127.0.0.1:PORT` of a threaded http.server running `handler_class`, stopped on exit."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def silent_handler(release: threading.Event):
    class Silent(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # accepts the connection, reads the request, never answers
            release.wait(timeout=10)

        def log_message(self, *args):
            pass

    return Silent


class Endless(http.server.BaseHTTPRequestHandler):
    """Streams 64 KiB chunks (at most 8 MiB), declaring no length unless the path says /declared."""

    def do_GET(self):
        self.send_response(200)
        if self.path == "/declared":
            self.send_header("Content-Length", str(8 * 2**20))
        self.end_headers()
        try:
            for _ in range(128):
                self.wfile.write(b"\0" * 2**16)
        except OSError:  # the client stopped reading
            pass

    def log_message(self, *args):
        pass


def test_url_that_never_answers_times_out(tiny_pipeline, monkeypatch):
    monkeypatch.setattr(audio_inputs_qrtse, "URL_TIMEOUT_S", 0.5)
    release = threading.Event()
    with serve(silent_handler(release)) as url:
        start = time.monotonic()
        try:
            with pytest.raises(ValueError, match=r"did not answer within 0\.5 s"):
                tiny_pipeline(f"{url}/mix.wav", query=QUERY)
        finally:
            release.set()
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("path", ["/streamed", "/declared"])
def test_url_larger_than_the_limit_stops_reading(tiny_pipeline, monkeypatch, path):
    monkeypatch.setattr(audio_inputs_qrtse, "MAX_DOWNLOAD_BYTES", 100_000)
    with serve(Endless) as url, pytest.raises(ValueError, match="100000 bytes"):
        tiny_pipeline(url + path, query=QUERY)


def test_url_errors_name_the_url(tiny_pipeline):
    with serve(Endless) as url:
        pass  # stopped: nothing listens on this loopback port any more
    with pytest.raises(ValueError, match=f"Could not download {url}/gone.wav"):
        tiny_pipeline(f"{url}/gone.wav", query=QUERY)


# --- Encoded inputs: checked from the header before decoding ---


def test_header_limits_are_checked_before_decoding(tiny_pipeline, tmp_path, monkeypatch):
    path = tmp_path / "long.flac"
    with sf.SoundFile(path, "w", 8000, 2, subtype="PCM_16", format="FLAC") as file:
        file.write(np.zeros((8000 * 12, 2), np.int16))
    monkeypatch.setattr(sf, "read", lambda *args, **kwargs: pytest.fail("decoded before its header was checked"))
    for name, value, message in [
        ("MAX_AUDIO_SECONDS", 10.0, "lasts 12 s; this accepts up to 10 s"),
        ("MAX_CHANNELS", 1, "has 2 channels; at most 1"),
        ("MAX_SAMPLING_RATE", 4000, "has a sample rate of 8000 Hz; at most 4000 Hz"),
        ("MAX_DECODED_BYTES", 2**19, r"decodes to 0\.7 MiB of samples \(2 channels at 8000 Hz\); at most 0\.5 MiB"),
    ]:
        with monkeypatch.context() as limits:
            limits.setattr(audio_inputs_qrtse, name, value)
            with pytest.raises(ValueError, match=f"file {path} {message}"):
                tiny_pipeline(str(path), query=QUERY)


def wav_header_declaring(frames: int, rate: int = 16000) -> bytes:
    """A 16-bit mono WAV whose header declares `frames` but that holds a tenth of them."""
    data = wav_bytes(noise(frames / rate), rate)
    return data[: 44 + frames // 10 * 2]


@pytest.mark.parametrize(
    "form, subtype",
    [("WAV", "PCM_16"), ("WAV", "FLOAT"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", None), ("FLAC", "PCM_16")],
)
def test_truncated_files_are_refused(tiny_pipeline, tmp_path, form, subtype):
    data = wav_bytes(noise(2.0), 16000, subtype=subtype, format=form)
    path = tmp_path / f"cut.{form.lower()}"
    path.write_bytes(data[: int(len(data) * 0.6)])
    # FLAC's decoder notices by itself; the others would give the first 60 % without a word.
    with pytest.raises(ValueError, match=f"file {path} is truncated|Could not decode file {path}"):
        tiny_pipeline(str(path), query=QUERY)
    # The same data in full decodes.
    assert tiny_pipeline(data, query=QUERY)["audio"].shape == (32000,)


def test_truncated_wav_names_what_is_missing(tiny_pipeline):
    with pytest.raises(ValueError, match=r"audio bytes \(\d+ bytes\) is truncated: its header declares 32000 bytes"):
        tiny_pipeline(wav_header_declaring(16000), query=QUERY)


def test_streaming_wav_without_a_length_is_not_truncated(tiny_pipeline):
    data = bytearray(wav_bytes(noise(0.5), 16000))
    data[40:44] = (0xFFFFFFFF).to_bytes(4, "little")  # what a streaming encoder writes
    assert tiny_pipeline(bytes(data), query=QUERY)["audio"].shape == (8000,)


def test_a_folder_is_not_an_audio_file(tiny_pipeline, tmp_path):
    with pytest.raises(IsADirectoryError, match=f"{tmp_path} is a folder"):
        tiny_pipeline(str(tmp_path), query=QUERY)


def test_decode_errors_name_the_input_not_a_buffer(tiny_pipeline):
    with pytest.raises(ValueError, match=r"Could not decode audio bytes \(20 bytes\) as audio") as error:
        tiny_pipeline(b"definitely not audio", query=QUERY)
    with pytest.raises(ValueError, match="Could not decode bytes of upload.wav") as error_of_dict:
        tiny_pipeline({"bytes": b"definitely not audio", "path": "upload.wav"}, query=QUERY)
    for raised in (error, error_of_dict):
        assert "object at 0x" not in str(raised.value)


# --- Arrays and rates: numeric garbage is refused, other float types are converted ---


@pytest.mark.parametrize(
    "audio, message",
    [
        (noise(0.2).astype(np.complex64), "complex"),
        (torch.from_numpy(noise(0.2)).to(torch.complex64), "complex"),
        (np.arange(3200), "int64"),
        (np.zeros(3200, bool), "bool"),
        (np.array(["a"] * 3200), "dtype <U1"),
        ({"array": noise(0.2), "sampling_rate": True}, "sampling_rate must be a positive whole number"),
        ({"array": noise(0.2), "sampling_rate": 16000.5}, "whole number of Hz"),
        ({"array": noise(0.2), "sampling_rate": 0}, "whole number of Hz"),
        ({"array": noise(0.2), "sampling_rate": float("nan")}, "whole number of Hz"),
    ],
)
def test_numeric_garbage_is_refused(tiny_pipeline, audio, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(audio, query=QUERY)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
def test_other_float_tensors_become_float32(tiny_pipeline, dtype):
    audio = torch.from_numpy(noise(0.2)).to(dtype)
    out = tiny_pipeline(audio, query=QUERY)["audio"]
    np.testing.assert_allclose(out, tiny_pipeline(audio.float().numpy(), query=QUERY)["audio"], atol=1e-6)


def test_stereo_integer_pcm_is_scaled_before_down_mixing(tiny_pipeline):
    stereo = np.round(noise(0.2, channels=2) * 32767).astype(np.int16)
    out = tiny_pipeline({"array": stereo, "sampling_rate": 16000}, query=QUERY)["audio"]
    expected = tiny_pipeline((stereo / 32768).astype(np.float32), query=QUERY)["audio"]
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"chunk_length_s": float("inf")}, "chunk_length_s must be a finite number"),
        ({"chunk_length_s": float("nan")}, "chunk_length_s must be a finite number"),
        ({"chunk_length_s": 0.01}, "chunk_length_s must be 0 .one pass. or at least"),
        ({"chunk_length_s": True}, "chunk_length_s must be a number"),
        ({"chunk_length_s": 1.0, "context_s": 2.0}, "at least 2 s"),
        ({"context_s": float("inf")}, "context_s must be a finite number"),
        ({"output_sampling_rate": True}, "output_sampling_rate must be a positive whole number"),
        ({"output_sampling_rate": 22050.5}, "whole number of Hz"),
        ({"output_sampling_rate": -1}, "whole number of Hz"),
        ({"refine": "no"}, "refine must be True or False"),
        ({"return_residual": "false"}, "return_residual must be True or False"),
        ({"return_probabilities": 2}, "return_probabilities must be True or False"),
    ],
)
def test_bad_parameters_are_refused_before_any_work(tiny_pipeline, monkeypatch, kwargs, message):
    monkeypatch.setattr(tiny_pipeline, "_forward", lambda *args, **kw: pytest.fail("ran the model"))
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(noise(0.2), query=QUERY, **kwargs)


def test_chunk_length_minimum_is_the_models_context(tiny_pipeline):
    config = tiny_pipeline.model.config
    minimum = context_samples(config, round(CROSSFADE_S * config.sampling_rate)) / config.sampling_rate
    assert minimum < MIN_CHUNK_LENGTH_S  # the tiny model: the absolute floor decides
    assert tiny_pipeline(noise(0.5), query=QUERY, chunk_length_s=MIN_CHUNK_LENGTH_S)["audio"].shape == (8000,)
    with pytest.raises(ValueError, match="at least 0.1 s"):
        tiny_pipeline(noise(0.5), query=QUERY, chunk_length_s=0.09)
    small = QrtseConfig.from_preset("small")
    with pytest.raises(ValueError, match="at least 0.985 s"):
        check_long_form_options("file", 0.5, None, small)
    check_long_form_options("file", 1.0, None, small)
    check_long_form_options("file", 0, None, small)  # one pass

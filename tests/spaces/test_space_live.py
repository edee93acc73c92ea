"""The Space's Live tab in process: microphone chunks through the stream handler give what a
`QrtseStreamer` gives on the resampled audio, one session per visitor, query changes from the next
chunk, and a clear message without a causal model."""

import io
import os
import subprocess
import sys
import time
from pathlib import Path

# spaces/ is on sys.path (conftest), as the Space's own folder is on a Space.
import app
import gradio as gr
import live
import live_session
import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from live_session import LiveSession, target_sets, to_float_mono

from modeling_qrtse import QrtseConfig, QrtseModel, default_checkpoint
from tests.modeling_qrtse.causal_helpers import tiny_causal_model

SPACE = Path(live.__file__).parent
MIC_RATE = 48000  # what Chromium's microphone streams at
CHUNK = 4800  # Gradio's 0.1 s microphone chunk at 48 kHz


@pytest.fixture(scope="module")
def model():
    return tiny_causal_model()


def microphone(seconds: float = 1.0, rate: int = MIC_RATE, seed: int = 0, channels: int = 1) -> np.ndarray:
    """int16 samples as `gr.Audio(type="numpy")` delivers them: a tone in noise."""
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal((t.size, channels))
    audio = 0.2 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.05 * noise
    audio = np.round(audio * 32767).astype(np.int16)
    return audio[:, 0] if channels == 1 else audio


def chunked(samples: np.ndarray, sizes=(CHUNK,)) -> list:
    chunks, start, index = [], 0, 0
    while start < len(samples):
        size = sizes[index % len(sizes)]
        chunks.append(samples[start : start + size])
        start, index = start + size, index + 1
    return chunks


def resampled_pieces(chunks, rate: int, model_rate: int = 16000) -> list:
    """Each chunk through one streaming resampler, the tail as a last piece: the reference's input."""
    floats = [to_float_mono(chunk) for chunk in chunks]
    if rate == model_rate:
        return floats + [np.zeros(0, np.float32)]
    resampler = soxr.ResampleStream(rate, model_rate, 1, "float32")
    return [resampler.resample_chunk(x) for x in floats] + [
        resampler.resample_chunk(np.zeros(0, np.float32), last=True)
    ]


def reference(model, pieces, queries) -> np.ndarray:
    """`QrtseStreamer` on the resampled pieces, `queries[i]` (class names) set before piece i."""
    streamer = model.streamer(target_sets([queries[0]]))
    outputs = []
    for piece, classes in zip(pieces, queries, strict=True):
        streamer.set_query(target_sets([classes]))
        if piece.size:
            outputs.append(streamer.process(torch.from_numpy(piece)).reshape(-1))
    outputs.append(streamer.flush().reshape(-1))
    return torch.cat(outputs).numpy()


def stream_through(session: LiveSession, model, chunks, queries, rate: int = MIC_RATE) -> np.ndarray:
    session.start(model, [queries[0]])
    outputs = [session.feed(rate, chunk, [classes]) for chunk, classes in zip(chunks, queries, strict=True)]
    return np.concatenate([*outputs, session.stop()])


@pytest.mark.parametrize("rate", [48000, 44100, 16000])
@pytest.mark.parametrize("sizes", [(CHUNK,), (1000, 3333, 4801)])
def test_chunks_in_give_the_streamer_on_the_resampled_audio(model, rate, sizes):
    chunks = chunked(microphone(1.0, rate), sizes)
    output = stream_through(LiveSession(), model, chunks, [["Bark", "Cough"]] * len(chunks), rate)
    pieces = resampled_pieces(chunks, rate)
    expected = reference(model, pieces, [["Bark", "Cough"]] * len(pieces))
    assert len(output) == len(expected) == sum(len(p) for p in pieces)
    np.testing.assert_allclose(output, expected, atol=1e-5)


def test_the_handlers_stream_the_extraction_to_the_player(model):
    start, feed, stop, play = live.make_live_handlers(model)
    session, classes = LiveSession(), ["Bark"]
    stream_id = start(classes, session)
    chunks = chunked(microphone(0.8, channels=2))  # a stereo microphone is averaged to mono
    played = []
    for chunk in chunks:
        refined, presence = feed((MIC_RATE, chunk), classes, session)
        played += list(take_available(session, stream_id))
        if refined != "Listening…":  # from the first frame on
            assert refined.startswith(("Bark", "None of the chosen")) and set(presence) >= {"Bark"}
            assert all(0.0 <= p <= 1.0 for p in presence.values())
    assert refined != "Listening…"
    stop(session)
    played += list(play(stream_id, session))  # the tail, then the player ends
    audio = np.concatenate([sf.read(io.BytesIO(wav), dtype="float32")[0] for wav in played])
    expected = reference(model, resampled_pieces(chunks, MIC_RATE), [classes] * (len(chunks) + 1))
    assert sf.info(io.BytesIO(played[0])).samplerate == 16000
    np.testing.assert_allclose(audio, np.clip(expected, -1, 1), atol=1.5 / 32768)


def take_available(session, stream_id):
    """What the player yields now, without waiting for more."""
    audio = session.take(stream_id)
    if audio is not None and audio.size:
        yield live_session.wav_bytes(audio, 16000)


def test_each_visitor_has_a_session_of_their_own(model):
    first, second = LiveSession(), LiveSession()
    one = chunked(microphone(0.6, seed=1))
    two = chunked(microphone(0.6, seed=2))
    first.start(model, [["Bark"]])
    second.start(model, [["Cough", "Knock"]])
    outputs = {id(first): [], id(second): []}
    for a, b in zip(one, two, strict=True):  # interleaved, as two visitors' chunks arrive
        outputs[id(first)].append(first.feed(MIC_RATE, a, [["Bark"]]))
        outputs[id(second)].append(second.feed(MIC_RATE, b, [["Cough", "Knock"]]))
    for session, chunks, classes in ((first, one, ["Bark"]), (second, two, ["Cough", "Knock"])):
        output = np.concatenate([*outputs[id(session)], session.stop()])
        pieces = resampled_pieces(chunks, MIC_RATE)
        np.testing.assert_allclose(output, reference(model, pieces, [classes] * len(pieces)), atol=1e-5)
    # Gradio makes one session per visitor by calling the State's value.
    demo_state = gr.State(LiveSession)
    assert callable(demo_state.value) and demo_state.value() is not demo_state.value()


@pytest.mark.parametrize("model_fades", [True, False])
def test_a_query_change_applies_from_the_next_chunk(model, model_fades):
    model = model if model_fades else tiny_causal_model(silence_empty_query=False)
    chunks = chunked(microphone(1.0))
    queries = [["Bark"]] * 4 + [["Cough", "Bark"]] * 3 + [[]] * 3  # the dropdown, chunk by chunk
    session = LiveSession()
    session.start(model, [queries[0]])
    outputs = [session.feed(MIC_RATE, chunk, [classes]) for chunk, classes in zip(chunks, queries, strict=True)]
    output = np.concatenate([*outputs, session.stop()])
    pieces = resampled_pieces(chunks, MIC_RATE)
    expected = reference(model, pieces, [*queries, queries[-1]])
    if model_fades:  # the model fades an empty query out itself (`silence_empty_query`)
        np.testing.assert_allclose(output, expected, atol=1e-5)
        late = [queries[0], *queries]  # each change a chunk later: another output
        assert np.abs(output - reference(model, pieces, late)).max() > 1e-3
        return
    emitted = sum(len(o) for o in outputs[:7])  # what was final before no class was chosen
    np.testing.assert_allclose(output[:emitted], expected[:emitted], atol=1e-5)
    assert np.abs(output[emitted:]).max() == 0.0 < np.abs(expected[emitted:]).max()


def test_another_number_of_targets_restarts_the_streamer_seamlessly(model):
    session, chunks = LiveSession(), chunked(microphone(0.6))
    session.start(model, [["Bark"]])
    outputs = [session.feed(MIC_RATE, chunk, [["Bark"]]) for chunk in chunks[:3]]
    before = session._streamer
    outputs += [session.feed(MIC_RATE, chunk, [["Bark"], ["Cough"]]) for chunk in chunks[3:]]
    assert session._streamer is not before and session._streamer.query.shape[1] == 2
    output = np.concatenate([*outputs, session.stop()])
    assert len(output) == sum(len(p) for p in resampled_pieces(chunks, MIC_RATE))  # nothing lost or doubled
    assert np.isfinite(output).all()


def test_start_and_stop_reset_the_stream(model):
    session, chunks = LiveSession(), chunked(microphone(0.5))
    first = stream_through(session, model, chunks, [["Bark"]] * len(chunks))
    assert session.feed(MIC_RATE, chunks[0], [["Bark"]]) is None  # a chunk after stop is dropped
    second = stream_through(session, model, chunks, [["Bark"]] * len(chunks))
    np.testing.assert_array_equal(first, second)
    assert session.stream_id == 2


def test_the_player_follows_one_stream_and_ends_with_it(model, monkeypatch):
    start, feed, _, play = live.make_live_handlers(model)
    session = LiveSession()
    old = start(["Bark"], session)
    feed((MIC_RATE, microphone(0.3)), ["Bark"], session)
    new = start(["Bark"], session)  # a new recording: the old player ends
    assert list(play(old, session)) == []
    monkeypatch.setattr(live_session, "IDLE_S", 0.05)  # a stream that is never stopped
    feed((MIC_RATE, microphone(0.3)), ["Bark"], session)
    time.sleep(0.1)
    played = list(play(new, session))
    assert len(played) == 1 and not session.running


def test_the_refined_query_is_named_in_words():
    assert live.refined_text(None, ["Bark"]) == "Listening…"
    assert live.refined_text(["Bark"], ["Bark", "Cough"]) == "Bark"
    assert live.refined_text([], ["Bark"]).startswith("None of the chosen classes is heard")
    assert live.refined_text([], []).startswith("No class chosen")


def test_microphone_samples_become_float_mono():
    assert to_float_mono(np.array([16384, -32768], np.int16)).tolist() == [0.5, -1.0]
    assert to_float_mono(np.array([[16384, 0]], np.int16)).tolist() == [0.25]
    assert to_float_mono(np.array([192, 64], np.uint8)).tolist() == [0.5, -0.5]
    assert to_float_mono(np.array([0.25], np.float64)).dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        to_float_mono(np.zeros((2, 2, 2), np.int16))


def by_elem_id(demo: gr.Blocks) -> dict:
    return {block.elem_id: block for block in demo.blocks.values() if getattr(block, "elem_id", None)}


def test_without_a_causal_model_the_tab_says_how_to_provide_one():
    with gr.Blocks() as demo:
        live.build_live_tab(None, None, ["Bark"])
    blocks = by_elem_id(demo)
    assert set(blocks) == {"live-unavailable"}
    message = blocks["live-unavailable"].value
    assert "needs a causal model" in message and live.CAUSAL_MODEL_ENV in message and "--causal-model" in message


def test_the_causal_model_comes_from_argument_environment_or_the_served_model(model, tmp_path, monkeypatch):
    monkeypatch.delenv(live.CAUSAL_MODEL_ENV, raising=False)
    monkeypatch.setattr(default_checkpoint, "causal_model_available", lambda: False)
    served = QrtseModel(QrtseConfig.from_preset("tiny"))
    assert live.causal_model_for(None, served, "served") == (None, None)  # not causal: no live model
    assert live.causal_model_for(None, model, "served") == (model, "served")
    model.save_pretrained(tmp_path / "causal")
    served.save_pretrained(tmp_path / "not-causal")
    monkeypatch.setenv(live.CAUSAL_MODEL_ENV, str(tmp_path / "causal"))
    loaded, name = live.causal_model_for(None, served, "served")
    assert name == str(tmp_path / "causal") and loaded.config.causal and not loaded.training
    assert live.causal_model_for(None, served, "served")[0] is loaded  # loaded once
    with pytest.raises(SystemExit, match="is not a causal model"):
        live.causal_model_for(str(tmp_path / "not-causal"), served, "served")


def test_without_configuration_the_embedded_causal_model_streams(model, tmp_path, monkeypatch):
    monkeypatch.delenv(live.CAUSAL_MODEL_ENV, raising=False)
    model.save_pretrained(tmp_path / "causal_model")
    monkeypatch.setattr(default_checkpoint, "causal_model_path", lambda: tmp_path / "causal_model")
    assert live.resolve_causal_model() == str(tmp_path / "causal_model")
    assert live.resolve_causal_model("other") == "other"


def test_the_space_has_a_live_tab(tiny_model_dir, model, monkeypatch):
    monkeypatch.setattr(live, "ffmpeg_available", lambda: True)
    extractor = app.load_extractor(str(tiny_model_dir))
    with_model = by_elem_id(app.build_demo(extractor, [], "tiny", model, "tiny-causal"))
    assert {"live-microphone", "live-classes", "live-extracted", "live-refined", "live-presence"} <= set(with_model)
    assert with_model["live-microphone"].streaming and with_model["live-extracted"].streaming
    assert "extract" in with_model  # the file tab is still there
    without = by_elem_id(app.build_demo(extractor, [], "tiny"))
    assert "live-unavailable" in without and "live-microphone" not in without
    monkeypatch.setattr(live, "ffmpeg_available", lambda: False)
    without_ffmpeg = by_elem_id(app.build_demo(extractor, [], "tiny", model, "tiny-causal"))
    assert "FFmpeg" in without_ffmpeg["live-unavailable"].value


@pytest.mark.slow  # a fresh interpreter loads the model's remote code
def test_without_the_package_the_causal_model_streams_as_remote_code(model, tmp_path):
    """On a Space with only this folder, the Live tab's model is the repository's remote code."""
    model.save_pretrained(tmp_path / "causal")
    script = f"""
import sys
sys.modules["modeling_qrtse"] = None  # as on a Space without the package
sys.path.insert(0, {str(SPACE)!r})
import live
import numpy as np
from live_session import LiveSession
model = live.load_causal_model({str(tmp_path / "causal")!r})
assert type(model).__module__.startswith("transformers_modules."), type(model).__module__
session = LiveSession()
session.start(model, [["Bark"]])
output = session.feed(48000, np.full(4800, 1000, np.int16), [["Bark"]])
print(len(output) + len(session.stop()))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "1600"

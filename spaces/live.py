"""The Space's Live tab: the microphone streamed through a causal model (`QrtseStreamer`), the
extracted audio streamed back, and what the model hears now (refined query, class presence).

Four events share the visitor's `LiveSession` (`live_session.py`, in `gr.State`):
- `start_recording` starts a stream (fresh resampler and streamer) and writes its id into a
  hidden number;
- that number's change starts the player, a generator that yields the stream's output as WAV
  chunks to `gr.Audio(streaming=True)` until the stream is over. In Gradio 6.31 only a generator
  streams audio out (a `.stream` handler's return value replaces the output with a new file every
  chunk), and a generator bound to `start_recording` itself holds the microphone's stream back;
- `.stream` feeds each microphone chunk (0.1 s, int16, at the browser's rate, usually 48 kHz)
  and updates the refined query and presence;
- `stop_recording` flushes the stream's tail to the player.

The causal model is `--causal-model`, else `$QRTSE_CAUSAL_MODEL` (a folder or Hub id), else the
served model when it is causal. Without one the tab says how to provide one: a non-causal model's
output reads future input, so it cannot stream.
"""

import functools
import os
import shutil
import time

import gradio as gr
from live_session import LiveSession, wav_bytes

CAUSAL_MODEL_ENV = "QRTSE_CAUSAL_MODEL"
LIVE_SECONDS = int(os.environ.get("QRTSE_LIVE_SECONDS", "300"))  # one recording's limit (CPU Spaces)
LIVE_STREAMS = int(os.environ.get("QRTSE_LIVE_STREAMS", "4"))  # visitors streaming at once
CHUNK_S = 0.1  # what the browser sends per chunk (Gradio 6.31's microphone streams every 0.1 s)
POLL_S = 0.05  # how often the player looks for new output
DEFAULT_CLASSES = ("Finger_snapping", "Knock", "Cough", "Laughter", "Applause")  # easy to make at a desk

NO_CAUSAL_MODEL = f"""\
**Live streaming needs a causal model, and this Space has none.** The model on the first tab is
not causal: its output reads future input, so it can only process whole files.

Train one in its causal form (`QrtseConfig(causal=True)`, e.g. the `small-causal` preset:
`python -m qrtse.training.train CONFIG --causal true`), then point the Space at it: set the
variable `{CAUSAL_MODEL_ENV}` to its saved folder or Hub repository id, or run
`python spaces/app.py --causal-model FOLDER_OR_HUB_ID`.
"""
NO_FFMPEG = """\
**Live playback needs FFmpeg on the server** (Gradio encodes streamed audio with it): install it
(`apt-get install ffmpeg`) so that `ffmpeg` is on PATH, and restart the Space.
"""


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def resolve_causal_model(model: str | None = None) -> str | None:
    """The causal model to stream with: argument, else environment, else the package's embedded
    causal model when installed; None when there is none."""
    chosen = model or os.environ.get(CAUSAL_MODEL_ENV)
    if chosen:
        return chosen
    try:
        from modeling_qrtse.default_checkpoint import causal_model_available, causal_model_path
    except ImportError:
        return None
    return str(causal_model_path()) if causal_model_available() else None


@functools.cache
def load_causal_model(source: str):
    """The causal `QrtseModel` at `source`, loaded once per process: the package's class when it is
    installed, else the Hub repository's remote code. Exits with the reason when the model is not
    causal (checked from its config, before the weights load) or its code cannot stream."""
    try:
        from modeling_qrtse import QrtseConfig, QrtseModel
    except ImportError:
        from transformers import AutoConfig as QrtseConfig
        from transformers import AutoModel as QrtseModel

        remote = {"trust_remote_code": True}
    else:
        remote = {}
    config = QrtseConfig.from_pretrained(source, **remote)
    if not getattr(config, "causal", False):
        raise SystemExit(
            f"{CAUSAL_MODEL_ENV} / --causal-model {source} is not a causal model (its output reads future "
            "input): give a model trained from a causal preset such as 'small-causal'"
        )
    model = QrtseModel.from_pretrained(source, **remote).eval()
    if not hasattr(model, "streamer"):
        raise SystemExit(f"The code of {source} predates streaming: publish it again (python -m qrtse.hub.push_model)")
    return model


def causal_model_for(source: str | None, served_model, served_name: str):
    """`(model, name)` for the Live tab: the configured causal model, else the served model when it
    is causal, else `(None, None)`."""
    source = resolve_causal_model(source)
    if source:
        return load_causal_model(source), source
    if getattr(served_model.config, "causal", False) and hasattr(served_model, "streamer"):
        return served_model, served_name
    return None, None


def default_classes(labels) -> list:
    return [next((label for label in DEFAULT_CLASSES if label in labels), labels[0])]


def refined_text(refined, classes) -> str:
    if not classes:
        return "No class chosen: the output is silent."
    if refined is None:
        return "Listening…"
    if not refined:
        return "None of the chosen classes is heard now: the output is silent."
    return ", ".join(refined)


def make_live_handlers(model):
    """The Live tab's event handlers, bound to one causal model."""

    def start(classes, session: LiveSession):
        """start_recording: a new stream; its id (into the hidden number) starts the player."""
        return session.start(model, [list(classes or [])])

    def feed(chunk, classes, session: LiveSession):
        """The `.stream` handler: one microphone chunk `(rate, samples)` through the session's
        streamer. Returns the refined query and the presence `{class: p}` (None: no update yet)."""
        if chunk is None:
            return gr.skip(), gr.skip()
        rate, samples = chunk
        try:
            session.feed(rate, samples, [list(classes or [])])
        except ValueError as error:
            raise gr.Error(str(error))
        refined, presence = session.status()
        return refined_text(refined, classes), presence

    def stop(session: LiveSession):
        """stop_recording: the stream's tail goes to the player, which then ends."""
        session.stop()

    def play(stream_id, session: LiveSession):
        """The player: the output of stream `stream_id` as WAV chunks until that stream is over."""
        rate = model.config.sampling_rate
        deadline = time.monotonic() + LIVE_SECONDS + 30
        while time.monotonic() < deadline:
            audio = session.take(int(stream_id or 0))
            if audio is None:
                return
            if audio.size:
                yield wav_bytes(audio, rate)
            else:
                time.sleep(POLL_S)

    return start, feed, stop, play


def live_intro(model, name: str) -> str:
    config = model.config
    latency = config.algorithmic_latency_s * 1000
    return (
        "Extract the chosen classes from your microphone as you record, with a causal model "
        f"(`{name}`): each {CHUNK_S * 1000:.0f} ms chunk is extracted as it arrives, the output plays "
        f"back as a stream. Latency: {latency:.0f} ms of the model (one encoder window), plus the "
        f"{CHUNK_S * 1000:.0f} ms chunk, the network and the player's buffer. Class changes apply from the "
        "next chunk. The refined query and the class presence are the model's online estimates "
        "for the last frame, refined with the model's θ."
    )


def build_live_tab(model, name: str | None, labels) -> None:
    """The Live tab's content, inside the caller's `gr.Tab`. Without a causal model (or FFmpeg),
    only the explanation of what is missing."""
    if model is None:
        gr.Markdown(NO_CAUSAL_MODEL, elem_id="live-unavailable")
        return
    if not ffmpeg_available():
        gr.Markdown(NO_FFMPEG, elem_id="live-unavailable")
        return
    labels = list(labels)
    gr.Markdown(live_intro(model, name), elem_id="live-intro")
    session = gr.State(LiveSession)  # a callable: one session object per visitor
    stream_id = gr.Number(value=0, visible=False)
    with gr.Row():
        with gr.Column():
            microphone = gr.Audio(
                sources=["microphone"], streaming=True, type="numpy", label="Microphone", elem_id="live-microphone"
            )
            classes = gr.Dropdown(
                choices=labels,
                value=default_classes(labels),
                multiselect=True,
                label="Target classes (apply from the next chunk)",
                elem_id="live-classes",
            )
        with gr.Column():
            extracted = gr.Audio(
                streaming=True, autoplay=True, interactive=False, label="Extracted (live)", elem_id="live-extracted"
            )
            refined = gr.Textbox(label="Refined query (now)", interactive=False, elem_id="live-refined")
            presence = gr.Label(
                show_heading=False,
                label="Class presence (now: the most likely and the chosen classes)",
                elem_id="live-presence",
            )
    start, feed, stop, play = make_live_handlers(model)
    private = {"api_visibility": "private"}
    microphone.start_recording(start, [classes, session], [stream_id], concurrency_limit=None, **private)
    stream_id.change(
        play, [stream_id, session], [extracted], concurrency_limit=LIVE_STREAMS, concurrency_id="live-player", **private
    )
    microphone.stream(
        feed,
        [microphone, classes, session],
        [refined, presence],
        stream_every=CHUNK_S,
        time_limit=LIVE_SECONDS,
        concurrency_limit=LIVE_STREAMS,
        concurrency_id="live-stream",
        show_progress="hidden",
        **private,
    )
    microphone.stop_recording(stop, [session], [], concurrency_limit=None, **private)

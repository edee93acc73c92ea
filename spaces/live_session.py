"""One visitor's live extraction, without Gradio: microphone chunks in (any rate, int or float
samples), resampled to the model's rate with one streaming resampler per stream (`soxr.ResampleStream`
keeps its filter state across chunks, so the boundaries do not click), extracted by one
`QrtseStreamer` per stream, and the output kept until the player takes it.

The stream handler, the start and stop handlers and the player run on different threads of the
server, all on the same `LiveSession` (it lives in the visitor's `gr.State`): every method takes the
session's lock.
"""

import io
import threading
import time

import numpy as np
import soundfile as sf
import soxr
import torch

TOP_CLASSES = 5  # presence shown besides the queried classes
IDLE_S = 10.0  # a running stream that has received nothing for this long is over (tab closed, time limit)


def to_float_mono(samples: np.ndarray) -> np.ndarray:
    """float32 `(samples,)` in [-1, 1] from what `gr.Audio(type="numpy")` delivers: int16 (the
    microphone's usual), another integer width or float, `(samples,)` or `(samples, channels)`."""
    samples = np.asarray(samples)
    if samples.dtype.kind == "u":  # unsigned PCM (8-bit WAV) is offset by half its range
        half = 2 ** (8 * samples.dtype.itemsize - 1)
        samples = (samples.astype(np.float64) - half) / half
    elif samples.dtype.kind == "i":
        samples = samples / float(2 ** (8 * samples.dtype.itemsize - 1))
    elif samples.dtype.kind != "f":
        raise ValueError(f"audio samples must be integer or float, got {samples.dtype}")
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise ValueError(f"audio must be (samples,) or (samples, channels), got shape {samples.shape}")
    return np.ascontiguousarray(samples, dtype=np.float32)


def target_sets(targets) -> list:
    """K lists of class names as the streamer's query: always K sets (the `(batch, K, n)` output
    form), each parsed by the model's processor; an empty list is a target that asks for nothing
    (silent, see `LiveSession._mono`)."""
    return [list(names) for names in targets]


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """16-bit PCM WAV, what Gradio's streamed output decodes without a subprocess. Clipped, not
    normalised: a gain that changed from chunk to chunk would pump."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


class LiveSession:
    """A visitor's live stream: started by [`start`], fed by [`feed`], ended by [`stop`]; the
    extracted audio waits in the session until [`take`]. Chunks that arrive while no stream runs
    (before the start handler, after stop) are dropped."""

    def __init__(self):
        self._lock = threading.Lock()
        self.stream_id = 0
        self.running = False
        self._model = None
        self._streamer = None
        self._targets = None
        self._resampler = None
        self._input_rate = None
        self._pending = []
        self._last_input = 0.0

    # The stream -------------------------------------------------------------------------------
    def start(self, model, targets) -> int:
        """A new stream extracting `targets` (lists of class names, one per target): fresh
        resampler and streamer state. Returns the stream's id, which the player follows."""
        with self._lock:
            self.stream_id += 1
            self.running = True
            self._model = model
            self._streamer = model.streamer(target_sets(targets))
            self._targets = [list(names) for names in targets]
            self._resampler, self._input_rate = None, None
            self._pending = []
            self._last_input = time.monotonic()
            return self.stream_id

    def feed(self, rate: int, samples: np.ndarray, targets) -> np.ndarray | None:
        """Extract from the next chunk (`rate` Hz; see `to_float_mono`), with `targets` from this
        chunk on. Returns the output samples that are now final (at the model's rate), kept for
        [`take`] too; None when no stream runs."""
        audio = to_float_mono(samples)
        with self._lock:
            if not self.running:
                return None
            self._last_input = time.monotonic()
            tail = self._set_targets(targets)
            audio = self._resample(int(rate), audio)
            output = self._extract(audio) if audio.size else np.zeros(0, np.float32)
            output = np.concatenate([tail, output])
            self._pending.append(output)
            return output

    def stop(self) -> np.ndarray | None:
        """End the stream: the resampler's and the streamer's tails (kept for [`take`] too), then
        the state is dropped. None when no stream runs."""
        with self._lock:
            if not self.running:
                return None
            rest = self._flush_resampler()
            output = self._extract(rest) if rest.size else np.zeros(0, np.float32)
            output = np.concatenate([output, self._mono(self._streamer.flush())])
            self._pending.append(output)
            self.running = False
            self._streamer = self._resampler = None
            return output

    def take(self, stream_id: int) -> np.ndarray | None:
        """The output of stream `stream_id` not taken yet (possibly empty); None once that stream
        is over and all of it taken: stopped, replaced by a newer one, or idle for `IDLE_S`."""
        with self._lock:
            current = stream_id == self.stream_id
            if current and self.running and time.monotonic() - self._last_input > IDLE_S:
                self.running = False  # nobody will stop it: the stream event ended without a stop
                self._streamer = self._resampler = None
            if not current or (not self.running and not self._pending):
                return None
            output = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
            self._pending = []
            return output

    # What the stream hears ----------------------------------------------------------------------
    def status(self) -> tuple[list | None, dict | None]:
        """The classes extracted in the last frame (first target; None before a frame) and the
        online presence `{class: probability}` of the last frame (the most likely classes and the
        queried ones; None before a frame or for a model without classifier)."""
        with self._lock:
            streamer = self._streamer
            if streamer is None or streamer.frames == 0:
                return None, None
            refined = streamer.refined_labels()[0][0]
            presence = streamer.presence
            if presence is None:
                return refined, None
            id2label = self._model.config.id2label
            probabilities = presence[0].float().cpu().numpy()
            shown = set(np.argsort(-probabilities)[:TOP_CLASSES].tolist())
            shown |= {self._model.config.label2id[name] for names in self._targets for name in names}
            return refined, {id2label[int(i)]: float(probabilities[i]) for i in sorted(shown)}

    # Steps --------------------------------------------------------------------------------------
    def _set_targets(self, targets) -> np.ndarray:
        """`set_query` from this chunk on; a different number of targets needs another streamer:
        the old one is flushed first (its tail is returned), so the output stays continuous."""
        targets = [list(names) for names in targets]
        if targets == self._targets:
            return np.zeros(0, np.float32)
        tail = np.zeros(0, np.float32)
        if len(targets) == len(self._targets):
            self._streamer.set_query(target_sets(targets))
        else:
            tail = self._mono(self._streamer.flush())
            self._streamer = self._model.streamer(target_sets(targets))
        self._targets = targets
        return tail

    def _resample(self, rate: int, audio: np.ndarray) -> np.ndarray:
        done = np.zeros(0, np.float32)
        if rate != self._input_rate:  # the first chunk, or another device: finish the old filter
            done = self._flush_resampler()
            model_rate = self._model.config.sampling_rate
            self._resampler = None if rate == model_rate else soxr.ResampleStream(rate, model_rate, 1, "float32")
            self._input_rate = rate
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(audio)
        return np.concatenate([done, audio]) if done.size else audio

    def _flush_resampler(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)

    def _extract(self, audio: np.ndarray) -> np.ndarray:
        return self._mono(self._streamer.process(torch.from_numpy(audio)))

    def _mono(self, output: torch.Tensor) -> np.ndarray:
        """`(n,)` from the streamer's `(1, K, n)`: the targets summed. A target that asks for nothing
        is silenced here unless the model fades such queries out itself (`silence_empty_query`)."""
        output = output.reshape(1, len(self._targets), -1)[0]
        if not getattr(self._model.config, "silence_empty_query", False):
            asked = torch.tensor([bool(names) for names in self._targets], dtype=output.dtype)
            output = output * asked[:, None]
        return output.sum(0).float().numpy().astype(np.float32)

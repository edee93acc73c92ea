"""Crowd babble for the built-in backgrounds: espeak-ng voices through ctypes.

`espeakng-loader` ships libespeak-ng and its data but no Python synthesis API, so the few C
calls needed are declared here. espeak-ng is GPL-3+; the speech it renders is an output of the
program (noted in the dataset card).

libespeak-ng keeps process-wide synthesis state (neither `espeak_ng_SetRandSeed` nor
re-initialising resets it): the same text comes out slightly different on each call, but
identical in a fresh process. `render_in_fresh_process` therefore speaks in a forked child of a
process that never initialised espeak, which makes the built-in corpus reproducible.
"""

import ctypes
import multiprocessing
import threading

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4

# Language + voice variant pairs that load with espeakng-loader 0.2.4 ("en-gb" and "zh" do not).
VOICES = tuple(
    f"{language}+{variant}"
    for language in ("en", "en-us", "en-gb-x-rp", "de", "fr", "es", "it", "nl", "pl", "pt", "cmn", "ru")
    for variant in ("m1", "m3", "m5", "f1", "f2", "f4")
)

# Words spoken by the babble voices; intelligibility does not matter once several overlap.
WORDS = (
    "hello there we could meet later today at the station near the market if the train is late "
    "I will call you again tomorrow morning before work the weather looks fine but it might rain "
    "did you see the game last night they played very well until the end where are we going for "
    "lunch maybe the small place around the corner with the green door my sister bought a new "
    "bicycle and rides it every day to the office it takes about twenty minutes when the streets "
    "are quiet excuse me do you know the way to the museum it is just two blocks down on the left"
).split()

_lock = threading.Lock()
_library = None
_sample_rate = None
_chunks = []


@ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
def _collect(samples, count, events):
    if count > 0:
        _chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
    return 0


def _espeak():
    """Load and initialise libespeak-ng once per process; returns (library, sample_rate)."""
    global _library, _sample_rate
    if _library is None:
        import espeakng_loader

        library = ctypes.CDLL(espeakng_loader.get_library_path())
        library.espeak_Initialize.restype = ctypes.c_int
        rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise (espeakng-loader data not found?)")
        library.espeak_SetSynthCallback(_collect)
        library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        _library, _sample_rate = library, rate
    return _library, _sample_rate


def speak(text: str, voice: str, rate_wpm: int = 175, pitch: int = 50, pitch_range: int = 50) -> tuple:
    """Synthesise `text`: `(float32 mono audio, sample_rate)` (22.05 kHz)."""
    with _lock:
        library, sample_rate = _espeak()
        if library.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        for parameter, value in ((_RATE, rate_wpm), (_PITCH, pitch), (_RANGE, pitch_range), (_VOLUME, 100)):
            library.espeak_SetParameter(parameter, value, 0)
        data = text.encode("utf-8") + b"\0"
        _chunks.clear()
        library.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        library.espeak_Synchronize()
        audio = np.concatenate(_chunks) if _chunks else np.zeros(0, dtype=np.int16)
        _chunks.clear()
    return audio.astype(np.float32) / 32768.0, sample_rate


def random_sentence(rng: np.random.Generator, num_words: int) -> str:
    return " ".join(rng.choice(WORDS, size=num_words)) + "."


def render_in_fresh_process(function, *args):
    """`function(*args)` evaluated in a forked child whose espeak-ng state is fresh."""
    if _library is not None:
        raise RuntimeError("espeak-ng was initialised in this process; its children would inherit its state")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(function, args)

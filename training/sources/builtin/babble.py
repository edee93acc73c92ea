"""Crowd babble for the built-in backgrounds: espeak-ng voices, one fresh process per voice.

`espeakng-loader` ships libespeak-ng and its data but no Python synthesis API; `espeak_worker.py`
drives the library through ctypes. libespeak-ng is not reproducible inside one long-lived
process (its output drifts with process state once voices change), so each voice of a babble
track is spoken by its own short-lived worker, which makes the built-in corpus byte-identical
from run to run. espeak-ng is GPL-3+; the speech it renders is an output of the program (noted
in the dataset card).
"""

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

WORKER = Path(__file__).with_name("espeak_worker.py")

# Language + voice variant pairs that load with espeakng-loader 0.2.4 ("en-gb" and "zh" do not).
# Variants f2, f3 and f5 are left out: they render differently from run to run even so.
VOICES = tuple(
    f"{language}+{variant}"
    for language in ("en", "en-us", "en-gb-x-rp", "de", "fr", "es", "it", "nl", "pl", "pt", "cmn", "ru")
    for variant in ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f4")
)

# Words spoken by the babble voices; intelligibility does not matter once several overlap.
_TEXT = (
    "hello there we could meet later today at the station near the market if the train is late "
    "I will call you again tomorrow morning before work the weather looks fine but it might rain "
    "did you see the game last night they played very well until the end where are we going for "
    "lunch maybe the small place around the corner with the green door my sister bought a new "
    "bicycle and rides it every day to the office it takes about twenty minutes when the streets "
    "are quiet excuse me do you know the way to the museum it is just two blocks down on the left"
)
WORDS = tuple(_TEXT.split())


def random_sentence(rng: np.random.Generator, num_words: int) -> str:
    return " ".join(rng.choice(WORDS, size=num_words)) + "."


def _start_worker(voice: str, sentences: list, rate_wpm: int, pitch: int, pitch_range: int):
    request = {"voice": voice, "sentences": sentences, "rate_wpm": rate_wpm, "pitch": pitch, "pitch_range": pitch_range}
    # -I: isolated from the caller's environment variables and user site-packages.
    process = subprocess.Popen(
        [sys.executable, "-I", str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return process, json.dumps(request).encode()


def _read_worker(process, request: bytes) -> tuple:
    output, errors = process.communicate(request)
    if process.returncode != 0:
        raise RuntimeError(f"espeak-ng worker failed: {errors.decode(errors='replace').strip()}")
    sample_rate, position, utterances = struct.unpack_from("<I", output)[0], 4, []
    while position < len(output):
        (count,) = struct.unpack_from("<I", output, position)
        position += 4
        utterances.append(np.frombuffer(output, dtype="<i2", count=count, offset=position).astype(np.float32) / 32768)
        position += 2 * count
    return utterances, sample_rate


def speak_voices(tracks: list) -> list:
    """Speak several voices at once: `tracks` is a list of dicts with `voice`, `sentences`,
    `rate_wpm`, `pitch`, `pitch_range`; returns, per track, `(list of float32 utterances, rate)`."""
    started = [_start_worker(**track) for track in tracks]
    return [_read_worker(process, request) for process, request in started]

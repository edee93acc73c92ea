import numpy as np
import pytest

from qrtse.training.clip_pool import InMemoryClipPool
from qrtse.training.mixing import MixingConfig, draw_recipe, measure_event_snrs, mix, presence_vector, render_recipe


@pytest.mark.parametrize("seed", range(12))
def test_mixture_is_exact_sum_of_stems(tone_pools, seed):
    _, rendered = mix(np.random.default_rng(seed), *tone_pools)
    stems, background, mixture = rendered.stems, rendered.background, rendered.mixture
    assert stems.dtype == background.dtype == mixture.dtype == np.float32
    np.testing.assert_array_equal(stems.sum(axis=0) + background, mixture)
    # Every value sits on the 16-bit grid, so PCM_16 storage is lossless.
    for signal in (stems, background, mixture):
        np.testing.assert_array_equal(np.round(signal * 32768) / 32768, signal)
    assert np.abs(mixture).max() <= 0.9 + 6 / 32768


@pytest.mark.parametrize("seed", range(12))
def test_recipe_follows_section_4_1(tone_pools, seed):
    config = MixingConfig()
    recipe, rendered = mix(np.random.default_rng(seed), *tone_pools, config)
    labels = [e.label for e in recipe.events]
    assert 3 <= len(labels) <= 5 and len(set(labels)) == len(labels)
    assert rendered.mixture.shape == (96000,) and rendered.stems.shape == (5, 96000)
    assert list(rendered.stem_labels[: len(labels)]) == labels and set(rendered.stem_labels[len(labels) :]) <= {-1}
    drawn = np.array([e.snr_db for e in recipe.events])
    assert np.all((drawn >= 15) & (drawn <= 25))
    measured = measure_event_snrs(
        rendered.stems, rendered.background, [e.onset for e in recipe.events], [e.length for e in recipe.events]
    )
    # Only 16-bit rounding separates the measured SNR from the drawn one.
    np.testing.assert_allclose(measured, drawn, atol=0.01)
    assert np.all((measured > 15 - 0.01) & (measured < 25 + 0.01))


def test_rendering_a_recipe_again_is_bit_identical(tone_pools):
    recipe, rendered = mix(np.random.default_rng(3), *tone_pools)
    again = render_recipe(recipe, *tone_pools)
    np.testing.assert_array_equal(again.mixture_pcm, rendered.mixture_pcm)
    np.testing.assert_array_equal(again.stems_pcm, rendered.stems_pcm)


def test_same_rng_same_recipe_other_rng_other_recipe(tone_pools):
    first = draw_recipe(np.random.default_rng(5), *tone_pools)
    assert draw_recipe(np.random.default_rng(5), *tone_pools) == first
    assert draw_recipe(np.random.default_rng(6), *tone_pools) != first


def test_long_clips_are_cropped_and_short_backgrounds_loop(tone_pools):
    foreground, background = tone_pools
    for seed in range(30):
        recipe, rendered = mix(np.random.default_rng(seed), foreground, background)
        for event in recipe.events:
            assert 0 <= event.onset and event.onset + event.length <= recipe.num_samples
            assert event.clip_offset + event.length <= foreground.lengths[event.clip_index]
        if recipe.background_index == 2:  # the 4 s background fills all 6 s
            assert np.count_nonzero(rendered.background[-16000:]) > 15000
            return
    pytest.fail("no mixture drew the short background")


def test_too_few_classes_is_an_error():
    foreground = InMemoryClipPool([np.ones(100, dtype=np.int16)] * 4, [0, 1, 2, 3])
    background = InMemoryClipPool([np.ones(100000, dtype=np.int16)], [-1])
    with pytest.raises(ValueError, match="5 distinct classes"):
        draw_recipe(np.random.default_rng(0), foreground, background)


def test_config_validation():
    with pytest.raises(ValueError, match="peak_range"):
        MixingConfig(peak_range=(0.5, 1.0))
    with pytest.raises(ValueError, match="min_sources"):
        MixingConfig(min_sources=4, max_sources=3)


def test_presence_vector():
    np.testing.assert_array_equal(presence_vector(np.array([2, 0, -1]), 4), [1, 0, 1, 0])


def test_mostly_silent_long_clip_gets_a_sounding_window():
    clip = np.zeros(30 * 16000, dtype=np.int16)
    clip[20 * 16000 : 20 * 16000 + 800] = 10000  # 50 ms of sound in 30 s
    foreground = InMemoryClipPool([clip] + [np.full(8000, 1000 * (k + 1), dtype=np.int16) for k in range(4)], range(5))
    background = InMemoryClipPool([np.random.default_rng(0).integers(-300, 300, 160000).astype(np.int16)], [-1])
    config = MixingConfig(min_sources=5)
    for seed in range(5):
        _recipe, rendered = mix(np.random.default_rng(seed), foreground, background, config)
        assert np.all(np.isfinite(rendered.stems)) and rendered.stems[0].any()

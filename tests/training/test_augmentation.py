import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from modeling_qrtse import QrtseFeatureExtractor, QrtseProcessor
from qrtse.training.augmentation import AugmentationConfig, augment, eq_gain, room_impulse_response
from qrtse.training.dynamic_dataset import DynamicMixtureDataset
from qrtse.training.train import prepare_batch

ALWAYS = AugmentationConfig(probability=1.0, reverb_probability=1.0, bandlimit_probability=1.0)


def _stems(rng, used=3, slots=5, length=16000):
    stems = np.zeros((slots, length), dtype=np.float32)
    stems[:used] = 0.1 * rng.standard_normal((used, length))
    return stems, (0.01 * rng.standard_normal(length)).astype(np.float32)


def test_probability_zero_returns_the_inputs_untouched():
    rng = np.random.default_rng(0)
    stems, background = _stems(rng)
    out_stems, out_background = augment(rng, stems, background, AugmentationConfig(probability=0.0))
    assert out_stems is stems and out_background is background


def test_augmented_stems_keep_unused_slots_silent_and_the_peak_bounded():
    rng = np.random.default_rng(1)
    stems, background = _stems(rng)
    stems *= 8  # a loud mixture: the room and EQ must not push it past 0.9
    out_stems, out_background = augment(np.random.default_rng(2), stems, background, ALWAYS)
    assert out_stems.dtype == np.float32 and out_stems.shape == stems.shape
    assert not out_stems[3:].any()
    assert np.max(np.abs(out_stems.sum(0) + out_background)) <= 0.9 + 1e-6
    assert not np.allclose(out_stems[:3], stems[:3] * (out_stems[0].std() / stems[0].std()))


def test_an_item_without_active_stems_is_augmented_in_its_background_only():
    # Inactive samples (no target, no other source) reach augmentation with every slot silent.
    rng = np.random.default_rng(4)
    stems, background = _stems(rng, used=0)
    out_stems, out_background = augment(np.random.default_rng(5), stems, background, ALWAYS)
    assert out_stems.shape == stems.shape and not out_stems.any()
    assert out_background.shape == background.shape and np.isfinite(out_background).all()


def test_band_limit_removes_energy_above_the_highest_cutoff():
    rng = np.random.default_rng(3)
    stems, background = _stems(rng)
    config = AugmentationConfig(probability=1.0, reverb_probability=0.0, bandlimit_probability=1.0, eq_db=0.0)
    out_stems, out_background = augment(rng, stems, background, config)
    frequencies = np.fft.rfftfreq(stems.shape[-1], 1 / 16000)
    above = frequencies > config.cutoff_hz_range[1] + 10
    for signal in (*out_stems[:3], out_background):
        spectrum = np.abs(np.fft.rfft(signal)) ** 2
        # A brick wall cut to the input length rings a little: -40 dB, where the input had -13 dB.
        assert spectrum[above].sum() < 1e-4 * spectrum.sum()


def test_room_response_has_a_unit_direct_path_and_the_drawn_ratio():
    response = room_impulse_response(np.random.default_rng(0), rt60_s=0.5, drr_db=6.0)
    assert len(response) == 8000 and response[0] == 1.0
    assert 10 * np.log10(1.0 / np.sum(response[1:] ** 2)) == pytest.approx(6.0)
    # -60 dB at RT60: the last tenth of the tail is far below the first.
    assert np.abs(response[-800:]).max() < 0.05 * np.abs(response[1:800]).max()


def test_eq_is_bounded_by_twice_its_gain():
    frequencies = np.fft.rfftfreq(16000, 1 / 16000)
    gains = eq_gain(np.random.default_rng(4), frequencies, eq_db=6.0)
    assert np.all(np.abs(20 * np.log10(gains)) <= 12.0 + 1e-9)
    assert np.all(eq_gain(np.random.default_rng(4), frequencies, eq_db=0.0) == 1.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"probability": 1.5},
        {"eq_db": -1.0},
        {"rt60_range": (0.8, 0.2)},
        {"rt60_range": (0.0, 0.2)},
        {"cutoff_hz_range": (3000.0, 9000.0)},
    ],
)
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        AugmentationConfig(**bad)


def test_prepared_training_batches_stay_an_exact_decomposition_and_reproducible(tone_pools):
    raw = default_collate(list(DynamicMixtureDataset(*tone_pools, num_classes=8, mixtures_per_epoch=4)))
    processor = QrtseProcessor(QrtseFeatureExtractor(), labels=[f"class_{index}" for index in range(8)])
    prepare = lambda step, augmentation: prepare_batch(raw, processor, 0, step, 0, 48000, 0.0, "cpu", augmentation)
    batch, again, plain = prepare(3, ALWAYS), prepare(3, ALWAYS), prepare(3, None)
    assert torch.allclose(batch["stems"].sum(1) + batch["background"], batch["input_values"], atol=1e-6)
    assert all(torch.equal(batch[key], again[key]) for key in batch)
    # The crop and the queries are drawn as without augmentation; the target is the augmented stems'.
    assert torch.equal(batch["query"], plain["query"]) and torch.equal(batch["presence"], plain["presence"])
    assert not torch.equal(batch["input_values"], plain["input_values"])
    chosen = torch.isin(batch["stem_labels"], torch.arange(8)) & (
        batch["query"].gather(1, batch["stem_labels"].clamp(min=0)) > 0
    )
    assert torch.allclose((batch["stems"] * chosen[..., None]).sum(1), batch["target_values"], atol=1e-6)
    assert not torch.equal(prepare(4, ALWAYS)["input_values"][:, :100], prepare(4, None)["input_values"][:, :100])

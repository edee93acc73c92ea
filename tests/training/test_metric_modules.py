"""The evaluate metric modules load offline and agree with qrtse.training.metrics."""

from pathlib import Path

import evaluate
import numpy as np
import pytest
import torch

from qrtse.training import metrics

MODULES = Path(metrics.__file__).with_name("metric_modules")


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(0)
    targets = [rng.standard_normal(n).astype(np.float32) for n in (800, 1200, 1000)]
    mixtures = [t + rng.standard_normal(len(t)).astype(np.float32) for t in targets]
    estimates = [t + 0.3 * rng.standard_normal(len(t)).astype(np.float32) for t in targets]
    return targets, mixtures, estimates


def as_tensor(x):
    return torch.as_tensor(x, dtype=torch.float64)


def test_snri_module(signals, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    targets, mixtures, estimates = signals
    out = evaluate.load(str(MODULES / "snri")).compute(predictions=estimates, references=targets, mixtures=mixtures)
    expected = [
        float(metrics.snr_improvement(as_tensor(e), as_tensor(t), as_tensor(m)))
        for e, t, m in zip(estimates, targets, mixtures)
    ]
    assert out["snri_per_item"] == pytest.approx(expected, abs=1e-9)
    assert out["snri"] == pytest.approx(np.mean(expected)) and out["snri"] > 5


def test_a_mix_module(signals, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, mixtures, estimates = signals
    silent = [np.zeros_like(mixtures[0])]
    module = evaluate.load(str(MODULES / "a_mix"))
    out = module.compute(predictions=estimates + silent, references=mixtures + mixtures[:1])
    expected = [float(metrics.mixture_attenuation(as_tensor(e), as_tensor(m))) for e, m in zip(estimates, mixtures)]
    assert out["a_mix_per_item"][:3] == pytest.approx(expected, abs=1e-9)
    assert out["a_mix_per_item"][3] == metrics.A_MIX_FLOOR_DB  # exact silence is floored


def test_ca_sdri_module(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    module = evaluate.load(str(MODULES / "ca_sdri"))
    detected = [["Bark"], ["Bark", "Meow"], [], []]
    present = [["Bark"], ["Bark"], ["Bark"], []]
    sdri = [{"Bark": 9.0}, {"Bark": 9.0}, {"Bark": 9.0}, {}]
    out = module.compute(predictions=detected, references=present, sdri=sdri)
    assert out["ca_sdri_per_item"] == [9.0, 4.5, 0.0, 0.0]
    assert out["ca_sdri_per_item"] == [metrics.class_aware_sdri(s, p, d) for d, p, s in zip(detected, present, sdri)]
    with pytest.raises(ValueError, match="no value for the present classes"):
        module.compute(predictions=[["Bark"]], references=[["Meow"]], sdri=[{}])


def test_mismatched_inputs_are_refused(signals):
    targets, mixtures, estimates = signals
    module = evaluate.load(str(MODULES / "snri"))
    with pytest.raises(ValueError, match="one waveform per item"):
        module.compute(predictions=estimates, references=targets, mixtures=mixtures[:2])
    with pytest.raises(ValueError, match="same length"):
        module.compute(predictions=estimates, references=targets, mixtures=mixtures[::-1])


def test_nan_empty_and_silent_references_are_refused(signals, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    targets, mixtures, estimates = signals
    snri = evaluate.load(str(MODULES / "snri"))
    with_nan = [targets[0], np.full_like(targets[1], np.nan), targets[2]]
    with pytest.raises(ValueError, match="snri: item 1: target contains NaN or Inf"):
        snri.compute(predictions=estimates, references=with_nan, mixtures=mixtures)
    silent = [targets[0], np.zeros_like(targets[1]), targets[2]]
    with pytest.raises(ValueError, match="snri: item 1: target is silent"):
        snri.compute(predictions=estimates, references=silent, mixtures=mixtures)
    with pytest.raises(ValueError, match="snri: item 0: estimate is empty"):
        snri.compute(predictions=[[]], references=[[]], mixtures=[[]])
    with pytest.raises(ValueError, match="a_mix: item 0: mixture is silent"):
        evaluate.load(str(MODULES / "a_mix")).compute(
            predictions=estimates[:1], references=[np.zeros_like(mixtures[0])]
        )
    ca_sdri = evaluate.load(str(MODULES / "ca_sdri"))
    with pytest.raises(ValueError, match="ca_sdri: item 0: the SDRi of 'Bark' is nan"):
        ca_sdri.compute(predictions=[["Bark"]], references=[["Bark"]], sdri=[{"Bark": float("nan")}])
    with pytest.raises(ValueError, match="no items to score"):
        ca_sdri.compute(predictions=[], references=[], sdri=[])

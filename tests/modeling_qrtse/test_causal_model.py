"""The causal model (issue 31): its configuration, and prefix causality of every causal module and of
the whole model: the output on a prefix of the input equals the prefix of the output on the whole."""

import pytest
import torch
from causal_helpers import THRESHOLD, mixture, query, tiny_causal_model

from modeling_qrtse.configuration_qrtse import QrtseConfig
from modeling_qrtse.modeling_qrtse import QrtseModel
from modeling_qrtse.online_refinement_qrtse import fading_gate, online_activity, trailing_presence
from modeling_qrtse.tcn_qrtse import QrtseTemporalConvNet

PREFIXES = (1, 2, 7, 33, 60)


@pytest.fixture(scope="module")
def model():
    return tiny_causal_model()


@pytest.mark.parametrize("name", ["small", "paper"])
def test_causal_presets_have_the_same_trunk(name):
    causal, offline = QrtseConfig.from_preset(f"{name}-causal"), QrtseConfig.from_preset(name)
    assert causal.causal and not offline.causal
    assert causal.algorithmic_latency_s == causal.window_samples / causal.sampling_rate
    assert offline.algorithmic_latency_s is None
    causal_model, offline_model = QrtseModel(causal), QrtseModel(offline)
    for part in ("encoder", "shared_extractor", "mask_estimator", "decoder", "query_embedding"):
        shapes = {key: value.shape for key, value in getattr(causal_model, part).state_dict().items()}
        assert shapes == {key: value.shape for key, value in getattr(offline_model, part).state_dict().items()}
    assert not causal_model.classifier.gru.bidirectional
    assert causal_model.classifier.gru.hidden_size == causal.classifier_hidden_size


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"norm_type": "gLN"}, "cLN"),
        ({"presence_window_s": 0}, "presence_window_s"),
        ({"release_s": -1.0}, "release_s"),
        ({"causal": "yes"}, "causal"),
    ],
)
def test_bad_causal_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        QrtseConfig.from_preset("tiny", **{"causal": True, **overrides})


def test_causal_config_round_trips(tmp_path):
    config = QrtseConfig.from_preset("small-causal", presence_window_s=0.7, release_s=0.3)
    config.save_pretrained(tmp_path)
    loaded = QrtseConfig.from_pretrained(tmp_path)
    assert (loaded.causal, loaded.presence_window_s, loaded.release_s) == (True, 0.7, 0.3)


def test_tcn_is_causal(model):
    tcn = model.shared_extractor
    assert isinstance(tcn, QrtseTemporalConvNet)
    features = torch.rand(2, model.config.encoder_filters, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = tcn(features)
        for frames in PREFIXES:
            assert torch.allclose(tcn(features[..., :frames]), whole[..., :frames], atol=1e-6)


def test_classifier_is_causal(model):
    shared = torch.randn(2, model.config.feature_channels, 64, generator=torch.Generator().manual_seed(2))
    valid = torch.ones(2, 64, dtype=torch.bool)
    with torch.no_grad():
        whole = model.classifier(shared, valid)[1]
        for frames in PREFIXES:
            prefix = model.classifier(shared[..., :frames], valid[:, :frames])[1]
            assert torch.allclose(prefix, whole[:, :frames], atol=1e-6)


@pytest.mark.parametrize("pooling", ["linear_softmax", "max", "mean"])
def test_online_presence_is_causal(pooling):
    probabilities = torch.rand(2, 64, 5, generator=torch.Generator().manual_seed(3))
    whole, _ = trailing_presence(probabilities, 9, pooling)
    for frames in PREFIXES:
        assert torch.allclose(trailing_presence(probabilities[:, :frames], 9, pooling)[0], whole[:, :frames])


@pytest.mark.parametrize("pooling", ["linear_softmax", "max", "mean"])
def test_online_presence_pools_the_trailing_window(pooling):
    probabilities = torch.rand(1, 30, 3, generator=torch.Generator().manual_seed(4))
    presence, _ = trailing_presence(probabilities, 4, pooling)
    for frame in (0, 2, 3, 29):
        window = probabilities[0, max(0, frame - 3) : frame + 1]
        expected = {
            "linear_softmax": (window**2).sum(0) / window.sum(0),
            "max": window.amax(0),
            "mean": window.mean(0),
        }[pooling]
        assert torch.allclose(presence[0, frame], expected, atol=1e-6)


def test_online_activity_enters_at_once_and_releases_late():
    presence = torch.tensor([0.1, 0.6, 0.2, 0.2, 0.2, 0.7, 0.1, 0.1])[None, :, None]
    active, _ = online_activity(presence, 0.5, release=3)
    assert active[0, :, 0].tolist() == [False, True, True, True, False, True, True, True]
    for frames in PREFIXES[:3]:
        assert torch.equal(online_activity(presence[:, :frames], 0.5, 3)[0], active[:, :frames])


def test_fading_gate_opens_at_once_and_fades_out():
    kept = torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    gain, _ = fading_gate(kept, frame_rate=200.0)  # a ramp of 2 frames
    assert torch.allclose(gain, torch.tensor([[0.0, 1.0, 1.0, 2 / 3, 1 / 3, 0.0, 0.0, 1.0]]))
    for frames in PREFIXES[:3]:
        assert torch.equal(fading_gate(kept[:, :frames], 200.0)[0], gain[:, :frames])


def test_model_is_causal(model):
    waveform, multi_hot = mixture(2), query(model, 2)[:, 0]
    window = model.config.window_samples
    with torch.no_grad():
        whole = model(waveform, multi_hot, threshold=THRESHOLD)
        for samples in (window, 1000, 1001, 2345):
            prefix = model(waveform[:, :samples], multi_hot, threshold=THRESHOLD)
            final = samples - window + 1  # the samples whose output the prefix completes
            assert torch.allclose(prefix.extracted_values[:, :final], whole.extracted_values[:, :final], atol=1e-6)
            frames = prefix.refined_query.shape[1] - 1  # the last frame reads the right padding
            assert torch.equal(prefix.refined_query[:, :frames], whole.refined_query[:, :frames])


def test_refinement_is_online_per_frame(model):
    waveform, multi_hot = mixture(2), query(model, 2)[:, 0]
    with torch.no_grad():
        refined = model(waveform, multi_hot, threshold=THRESHOLD).refined_query
        unrefined = model(waveform, multi_hot, threshold=0.0)
    frames = model.config.num_frames_of(waveform.shape[-1])
    assert refined.shape[:2] == (2, frames) and refined.shape[-1] == model.config.num_labels
    assert bool((refined <= multi_hot[:, None]).all())
    assert torch.equal(unrefined.refined_query, multi_hot)


def test_unrefined_frame_query_equals_the_clip_query(model):
    """Threshold 0 in a causal model keeps the clip path; its frame form must give the same output."""
    waveform, multi_hot = mixture(2), query(model, 2)
    with torch.no_grad():
        analysis = model.analyze(waveform)
        clip = model.extract(analysis, multi_hot)
        frames = model.extract(analysis, model.refine_online(multi_hot, analysis, 0.0))
        empty = model.extract(analysis, model.refine_online(torch.zeros_like(multi_hot), analysis, 0.0))
    assert torch.allclose(clip, frames, atol=1e-6)
    assert torch.equal(empty, torch.zeros_like(empty))

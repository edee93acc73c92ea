import sys

import pytest
import torch
from perturbed import perturbed_model

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.kernels.fast_inference import QrtseFastClassifier, QrtseFastTemporalConvNet

TOLERANCE = 1e-4


def inputs(config, batch=2, seconds=0.75, queries=None, seed=1):
    generator = torch.Generator().manual_seed(seed)
    waveform = torch.randn(batch, int(seconds * config.sampling_rate), generator=generator) * 0.1
    shape = (batch, config.num_labels) if queries is None else (batch, queries, config.num_labels)
    query = (torch.rand(shape, generator=generator) < 0.2).float()
    query[..., 0] = 1
    return waveform, query


def max_difference(first, second):
    return (first - second).abs().max().item()


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(
    "preset, queries, threshold, onednn_gemm",
    [
        ("tiny", None, 0.0, True),
        ("tiny", None, 0.5, True),
        ("tiny", 3, 0.0, True),
        ("tiny", 3, 0.5, False),
        ("small", 2, 0.5, True),
        ("small", 2, 0.5, False),
    ],
)
def test_fast_model_matches_the_reference(preset, queries, threshold, onednn_gemm, causal):
    """Causal models too: their depthwise convolutions take the same kernel with causal padding,
    their unidirectional GRU the same ONNX Runtime path, and their threshold online refinement."""
    model = perturbed_model(QrtseConfig.from_preset(preset, causal=causal))
    # Small passes: several per batch.
    fast = model.optimize_for_inference(frames_per_pass=150, onednn_gemm=onednn_gemm)
    waveform, query = inputs(model.config, queries=queries)
    with torch.inference_mode():
        reference, optimised = model(waveform, query, threshold=threshold), fast(waveform, query, threshold=threshold)
    assert max_difference(reference.extracted_values, optimised.extracted_values) < TOLERANCE
    assert max_difference(reference.clip_probabilities, optimised.clip_probabilities) < TOLERANCE
    assert torch.equal(reference.refined_query, optimised.refined_query)


def test_fast_modules_are_in_place_and_the_original_untouched(tiny_model):
    before = {name: tensor.clone() for name, tensor in tiny_model.state_dict().items()}
    fast = tiny_model.optimize_for_inference()
    assert isinstance(fast.mask_estimator, QrtseFastTemporalConvNet)
    assert isinstance(fast.classifier, QrtseFastClassifier)
    assert not isinstance(tiny_model.mask_estimator, QrtseFastTemporalConvNet)
    assert all(torch.equal(before[name], tensor) for name, tensor in tiny_model.state_dict().items())
    assert fast.state_dict().keys() == tiny_model.state_dict().keys()


def test_autograd_and_training_mode_use_the_reference_path(tiny_model):
    fast = tiny_model.optimize_for_inference()
    waveform, query = inputs(tiny_model.config)
    waveform.requires_grad_(True)
    output = fast(waveform, query, threshold=0.0).extracted_values
    output.sum().backward()  # gradients flow through the original parameters
    assert fast.mask_estimator.blocks[0].in_conv.weight.grad is not None
    fast.train()
    with torch.no_grad():
        assert max_difference(fast(waveform, query, threshold=0.0).extracted_values, output) < TOLERANCE


def test_padded_batch_and_analyze_extract(tiny_model):
    fast = tiny_model.optimize_for_inference()
    waveform, query = inputs(tiny_model.config, queries=2)
    attention_mask = torch.ones_like(waveform, dtype=torch.long)
    attention_mask[1, 5000:] = 0  # packed GRU: the classifier takes the reference path
    with torch.inference_mode():
        reference = tiny_model(waveform, query, attention_mask=attention_mask, threshold=0.5)
        optimised = fast(waveform, query, attention_mask=attention_mask, threshold=0.5)
        analysis = fast.analyze(waveform)
        extracted = fast.extract(analysis, query)
        expected = tiny_model.extract(tiny_model.analyze(waveform), query)
    assert max_difference(reference.extracted_values, optimised.extracted_values) < TOLERANCE
    assert max_difference(extracted, expected) < TOLERANCE


def test_gln_model_keeps_the_reference_tcn():
    model = perturbed_model(QrtseConfig.from_preset("tiny", norm_type="gLN"))
    fast = model.optimize_for_inference()
    assert not isinstance(fast.mask_estimator, QrtseFastTemporalConvNet)
    waveform, query = inputs(model.config)
    with torch.inference_mode():
        assert (
            max_difference(model(waveform, query).extracted_values, fast(waveform, query).extracted_values) < TOLERANCE
        )


def test_without_onnxruntime_the_classifier_uses_torch(tiny_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    fast = tiny_model.optimize_for_inference()
    assert fast.classifier.fused_session is None
    waveform, query = inputs(tiny_model.config)
    with torch.inference_mode():
        reference, optimised = tiny_model(waveform, query), fast(waveform, query)
    assert max_difference(reference.clip_probabilities, optimised.clip_probabilities) < TOLERANCE


def test_saving_the_fast_model_saves_the_original_weights(tiny_model, tmp_path):
    tiny_model.optimize_for_inference().save_pretrained(tmp_path)
    reloaded = QrtseModel.from_pretrained(tmp_path)
    for name, tensor in tiny_model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name


def test_pipeline_optimize_for_inference_flag(tiny_model):
    from pipeline_helpers import noise
    from transformers import pipeline

    from modeling_qrtse import TASK, QrtseFeatureExtractor

    extractors = [
        pipeline(TASK, model=tiny_model, feature_extractor=QrtseFeatureExtractor(), optimize_for_inference=optimize)
        for optimize in (False, True)
    ]
    assert isinstance(extractors[1].model.mask_estimator, QrtseFastTemporalConvNet)
    audio = noise(3.0)
    # Short chunks: several chunks, the two-pass file refinement and the crossfade all run.
    plain, fast = (extractor(audio, query=[0, 2], threshold=0.4, chunk_length_s=1.0) for extractor in extractors)
    assert plain["refined_query"] == fast["refined_query"]
    assert abs(plain["audio"] - fast["audio"]).max() < TOLERANCE


def test_a_fast_model_can_be_copied_and_optimised_again(tiny_model):
    fast = tiny_model.optimize_for_inference().optimize_for_inference()
    assert fast.classifier.fused_session is not None
    waveform, query = inputs(tiny_model.config)
    with torch.inference_mode():
        assert (
            max_difference(tiny_model(waveform, query).extracted_values, fast(waveform, query).extracted_values)
            < TOLERANCE
        )


@pytest.mark.parametrize("samples", [1560, 1600, 1880, 1920])  # tiny: 40, 41, 48, 49 frames
def test_gemm_row_padding_leaves_the_output_unchanged(samples):
    model = perturbed_model(QrtseConfig.from_preset("tiny"))
    fast = model.optimize_for_inference()
    waveform, query = inputs(model.config, batch=1)
    waveform = waveform[:, :samples]
    with torch.inference_mode():
        reference, optimised = model(waveform, query), fast(waveform, query)
    assert optimised.extracted_values.shape == reference.extracted_values.shape
    assert max_difference(reference.extracted_values, optimised.extracted_values) < TOLERANCE

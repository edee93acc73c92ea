"""The CPU fast paths on causal models (issue 31), beyond the parity tests that
`test_fast_inference`, `test_fast_training` and `test_bf16` run with `causal=True`: which GRU a
causal classifier runs, and the fused TCN carrying a stream's block contexts (`past`)."""

import copy
import random

import pytest
import torch
from perturbed import perturbed_model
from test_fast_inference import TOLERANCE, inputs, max_difference
from test_fast_training import gradients, training_batch

from modeling_qrtse import QrtseConfig
from modeling_qrtse.kernels.fast_inference import QrtseFastTemporalConvNet
from modeling_qrtse.tcn_qrtse import QrtseTemporalConvNet


@pytest.fixture(scope="module")
def causal_model():
    return perturbed_model(QrtseConfig.from_preset("tiny", causal=True))


def no_torch_gru(*args, **kwargs):
    raise AssertionError("the reference nn.GRU ran")


def padded(waveform: torch.Tensor) -> torch.Tensor:
    attention_mask = torch.ones_like(waveform, dtype=torch.long)
    attention_mask[1, waveform.shape[-1] // 2 :] = 0
    return attention_mask


def test_causal_padded_batches_run_the_gru_in_onnxruntime(causal_model, monkeypatch):
    """A unidirectional GRU reads batch padding after each item's frames, unpacked, so a padded
    batch needs no packed sequence: the session runs it (a BiGRU's takes the reference)."""
    fast = causal_model.optimize_for_inference()
    assert fast.classifier.fused_session is not None
    waveform, query = inputs(causal_model.config, queries=2)
    attention_mask = padded(waveform)
    with torch.inference_mode():
        expected = causal_model(waveform, query, attention_mask=attention_mask, threshold=0.5)
        monkeypatch.setattr(fast.classifier.gru, "forward", no_torch_gru)
        actual = fast(waveform, query, attention_mask=attention_mask, threshold=0.5)
    assert max_difference(expected.clip_probabilities, actual.clip_probabilities) < TOLERANCE
    assert max_difference(expected.extracted_values, actual.extracted_values) < TOLERANCE
    assert torch.equal(expected.refined_query, actual.refined_query)


def test_causal_padded_batches_train_the_gru_kernel(causal_model, monkeypatch):
    """The same for training: the GRU kernel, not `nn.GRU`, with the reference's gradients (the
    bounds of `test_fast_training_gradients_match_the_reference` hold this in general)."""
    reference = copy.deepcopy(causal_model).train()
    fast = copy.deepcopy(reference).optimize_for_training()
    batch = training_batch(reference.config, padded=True)
    expected = gradients(reference, batch)
    monkeypatch.setattr(fast.classifier.gru, "forward", no_torch_gru)
    actual = gradients(fast, batch)
    for name, gradient in expected.items():
        assert torch.allclose(actual[name], gradient, rtol=1e-4, atol=1e-6), name


def test_a_stream_chunk_runs_the_stateful_gru_session(causal_model, monkeypatch):
    """With `past` the fast classifier runs the second graph, whose hidden state is an input and
    an output, and carries it from chunk to chunk: the chunks give the whole input's frames."""
    fast = causal_model.optimize_for_inference()
    assert fast.classifier.fused_step_session is not None
    features = torch.randn(2, causal_model.config.feature_channels, 30, generator=torch.Generator().manual_seed(2))
    mask = torch.ones(2, 30, dtype=torch.bool)
    past = [None]
    with torch.inference_mode():
        _, expected = causal_model.classifier(features, mask)
        monkeypatch.setattr(fast.classifier.gru, "forward", no_torch_gru)
        chunks = [
            fast.classifier(features[..., span], mask[:, span], past)[1] for span in (slice(0, 11), slice(11, 30))
        ]
    assert past[0].shape == (1, 2, causal_model.config.classifier_hidden_size)
    assert max_difference(torch.cat(chunks, dim=1), expected) < TOLERANCE


def test_a_copy_of_the_optimised_causal_model_streams_on_its_own_sessions(causal_model):
    fast = causal_model.optimize_for_inference()
    clone = copy.deepcopy(fast)
    assert clone.classifier.fused_step_session is not fast.classifier.fused_step_session
    waveform = torch.randn(1, 4000, generator=torch.Generator().manual_seed(3))
    label = causal_model.config.id2label[0]
    outputs = []
    for model in (fast, clone):
        streamer = model.streamer([label], threshold=0)
        outputs.append(torch.cat([*(streamer.process(c) for c in waveform.split(160, dim=-1)), streamer.flush()], -1))
    assert torch.equal(outputs[0], outputs[1])


def test_causal_tcn_in_onnxruntime_matches_the_reference(causal_model):
    fast = causal_model.optimize_for_inference(onnxruntime_tcn=True)
    assert fast.mask_estimator.fused_session is not None
    waveform, query = inputs(causal_model.config, queries=2)
    with torch.inference_mode():
        expected, actual = causal_model(waveform, query, threshold=0.5), fast(waveform, query, threshold=0.5)
    assert max_difference(expected.extracted_values, actual.extracted_values) < TOLERANCE


def streamed(tcn: QrtseTemporalConvNet, features: torch.Tensor, sizes: list, past: list) -> torch.Tensor:
    """`tcn` over `features` `(batch, channels, frames)` in chunks of `sizes` frames, carrying `past`."""
    with torch.inference_mode():
        return torch.cat([tcn(chunk, None, past) for chunk in features.split(sizes, dim=-1)], dim=-1)


@pytest.mark.parametrize("frames_per_pass", [4800, 60])  # 60: one item per pass, contexts split and joined
@pytest.mark.parametrize("sizes", [[23, 57], [1, 2, 1, 5, 71]])  # the second: chunks shorter than a context
@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_fused_tcn_with_past_over_chunks_equals_the_reference_on_the_whole_input(preset, sizes, frames_per_pass):
    """Contexts span several chunks where a chunk is shorter than a block's context (the small
    preset's last blocks read 64 frames back); they equal the reference's, in its layout."""
    model = perturbed_model(QrtseConfig.from_preset(preset, causal=True))
    fast = model.optimize_for_inference(frames_per_pass=frames_per_pass)
    assert isinstance(fast.mask_estimator, QrtseFastTemporalConvNet)
    features = torch.rand(3, model.config.feature_channels, sum(sizes), generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        expected = model.mask_estimator(features)
    reference_past, fast_past = [None] * len(model.mask_estimator.blocks), [None] * len(fast.mask_estimator.blocks)
    reference_streamed = streamed(model.mask_estimator, features, sizes, reference_past)
    actual = streamed(fast.mask_estimator, features, sizes, fast_past)
    assert max_difference(actual, expected) < TOLERANCE
    assert max_difference(reference_streamed, expected) < TOLERANCE
    for block, (context, reference_context) in enumerate(zip(fast_past, reference_past)):
        assert context.shape == reference_context.shape, block
        assert max_difference(context, reference_context) < TOLERANCE, block


def test_fused_and_reference_tcns_take_each_others_contexts(causal_model):
    """A stream may switch between the optimised and the eager model: the contexts are the same."""
    fast = causal_model.optimize_for_inference()
    features = torch.rand(2, causal_model.config.encoder_filters, 40, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        expected = causal_model.shared_extractor(features)
        past = [None] * len(fast.shared_extractor.blocks)
        outputs = [
            tcn(chunk, None, past)
            for tcn, chunk in zip(
                (fast.shared_extractor, causal_model.shared_extractor, fast.shared_extractor),
                features.split([9, 13, 18], -1),
            )
        ]
    assert max_difference(torch.cat(outputs, dim=-1), expected) < TOLERANCE


@pytest.mark.parametrize("onnxruntime_tcn", [False, True])
def test_a_streamer_on_the_optimised_model_equals_the_offline_reference(causal_model, onnxruntime_tcn):
    """End to end: chunks of random sizes through the optimised model's streamer, against the
    eager model's offline forward (TCN sessions take no contexts: streams run the fused TCN)."""
    fast = causal_model.optimize_for_inference(onnxruntime_tcn=onnxruntime_tcn)
    waveform, query = inputs(causal_model.config, queries=2)
    with torch.inference_mode():
        expected = causal_model(waveform, query, threshold=0.5).extracted_values
    streamer = fast.streamer(query, threshold=0.5, batch_size=2)
    generator = random.Random(0)
    sizes, left = [], waveform.shape[-1]
    while left > 0:
        sizes.append(min(left, generator.randint(1, 700)))
        left -= sizes[-1]
    chunks = [streamer.process(chunk) for chunk in waveform.split(sizes, dim=-1)]
    actual = torch.cat([*chunks, streamer.flush()], dim=-1)
    assert actual.shape == expected.shape
    assert max_difference(actual, expected) < TOLERANCE

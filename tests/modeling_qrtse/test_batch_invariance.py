"""Batching does not change results (issue 27): an item padded into a batch of longer ones gets the
extracted audio and class probabilities it gets alone, through the model, its fused inference copy,
the long-form engine and the pipeline."""

import numpy as np
import pytest
import torch
from perturbed import perturbed_model
from pipeline_helpers import noise
from transformers import pipeline

from modeling_qrtse import TASK, QrtseConfig, QrtseFeatureExtractor
from modeling_qrtse.frame_refinement_qrtse import empty_frame_gate
from modeling_qrtse.long_form_qrtse import extract_long_form

AUDIO_TOLERANCE = 1e-4
PROBABILITY_TOLERANCE = 1e-5
# Unequal and not whole hops; with 0.5 s chunks the items have 1, 4 and 2 chunks of their own.
LENGTHS = (9000, 30411, 17000)
SMOOTHING = {"median_s": 0.05, "min_gap_s": 0.1, "min_event_s": 0.05, "pad_s": 0.05, "gate_s": 0.5}


def tiny_model(norm_type="cLN", optimized=False):
    config = QrtseConfig.from_preset("tiny", norm_type=norm_type, silence_empty_query=True, frame_smoothing=SMOOTHING)
    model = perturbed_model(config).eval()
    return model.optimize_for_inference() if optimized else model


def padded_batch(config, lengths, seed=0):
    """Items, their zero-padded batch with its attention mask, and two queries per item."""
    generator = torch.Generator().manual_seed(seed)
    items = [torch.randn(length, generator=generator) * 0.1 for length in lengths]
    batch = torch.zeros(len(items), max(lengths))
    attention_mask = torch.zeros(len(items), max(lengths), dtype=torch.long)
    for row, item in enumerate(items):
        batch[row, : len(item)], attention_mask[row, : len(item)] = item, 1
    query = (torch.rand(len(items), 2, config.num_labels, generator=generator) < 0.3).float()
    query[:, 0, 0] = query[:, 1, 1] = 1
    return items, batch, attention_mask, query


def max_difference(first, second) -> float:
    return (first - second).abs().max().item()


@pytest.mark.parametrize("optimized", [False, True])
@pytest.mark.parametrize("norm_type", ["cLN", "gLN"])
def test_model_batch_equals_each_item_alone(norm_type, optimized):
    model = tiny_model(norm_type, optimized)
    items, batch, attention_mask, query = padded_batch(model.config, (1203, 4000, 2517))
    with torch.inference_mode():
        batched = model(batch, query, attention_mask=attention_mask, threshold=0.5)
        for row, item in enumerate(items):
            alone = model(item[None], query[row : row + 1], threshold=0.5)
            extracted = batched.extracted_values[row]
            assert max_difference(extracted[:, : len(item)], alone.extracted_values[0]) <= AUDIO_TOLERANCE
            assert not extracted[:, len(item) :].any()
            assert max_difference(batched.clip_probabilities[row], alone.clip_probabilities[0]) <= PROBABILITY_TOLERANCE
            frames = alone.frame_probabilities.shape[1]
            frame_probabilities = batched.frame_probabilities[row, :frames]
            assert max_difference(frame_probabilities, alone.frame_probabilities[0]) <= PROBABILITY_TOLERANCE
            assert torch.equal(batched.refined_query[row], alone.refined_query[0])


def engine(model, values, query, attention_mask=None, **options):
    with torch.inference_mode():
        return extract_long_form(
            model,
            values,
            query,
            attention_mask=attention_mask,
            chunk_length_s=0.5,
            threshold=0.5,
            return_probabilities=True,
            **options,
        )


@pytest.mark.parametrize("optimized", [False, True])
@pytest.mark.parametrize("refinement", ["file", "chunk", "frame"])
def test_long_form_batch_equals_each_item_alone(refinement, optimized):
    model = tiny_model(optimized=optimized)
    items, batch, attention_mask, query = padded_batch(model.config, LENGTHS)
    batched = engine(model, batch, query, attention_mask, refinement=refinement)
    for row, item in enumerate(items):
        alone = engine(model, item[None], query[row : row + 1], refinement=refinement)
        extracted = batched.extracted_values[row]
        assert max_difference(extracted[:, : len(item)], alone.extracted_values[0]) <= AUDIO_TOLERANCE
        assert not extracted[:, len(item) :].any()
        assert max_difference(batched.clip_probabilities[row], alone.clip_probabilities[0]) <= PROBABILITY_TOLERANCE
        frames = alone.frame_probabilities.shape[1]
        frame_probabilities = batched.frame_probabilities[row]
        assert max_difference(frame_probabilities[:frames], alone.frame_probabilities[0]) <= PROBABILITY_TOLERANCE
        assert not frame_probabilities[frames:].any()
        assert torch.equal(batched.refined_query[row], alone.refined_query[0])
        if refinement == "frame":
            assert torch.equal(batched.frame_activity[row, :frames], alone.frame_activity[0])
        if refinement == "chunk" and alone.chunk_bounds is not None:
            chunks = alone.chunk_bounds.shape[1]
            assert torch.equal(batched.chunk_bounds[row, :chunks], alone.chunk_bounds[0])
            assert torch.equal(batched.chunk_refined_query[row, :chunks], alone.chunk_refined_query[0])
            assert (batched.chunk_bounds[row, chunks:] == len(item)).all()  # chunks it does not have


def test_frame_refinement_keeps_some_frames_and_drops_others():
    """The frame-mode comparison above checks a real time-varying query."""
    model = tiny_model()
    items, _, _, query = padded_batch(model.config, LENGTHS)
    activity = engine(model, items[1][None], query[1:], refinement="frame").frame_activity
    queried = activity[0][:, query[1].amax(0) > 0]
    assert queried.any() and not queried.all()


def test_empty_frame_gate_of_a_padded_item_is_its_gate_alone():
    """The gate's ramp reads past an item's end as its last frame, not the batch's padding frames."""
    frame_rate, classes = 400.0, 3
    alone = torch.zeros(1, 1, 20, classes)
    alone[0, 0, 10:18, 1] = 1  # an event that stops two frames before the end
    padded = torch.ones(1, 1, 30, classes)  # padding frames that name classes (and would widen the event)
    padded[:, :, :20] = alone
    frame_mask = torch.arange(30)[None] < 20
    gate = empty_frame_gate(padded, frame_rate, frame_mask)
    torch.testing.assert_close(gate[..., :20], empty_frame_gate(alone, frame_rate), rtol=0, atol=0)


@pytest.mark.parametrize("refinement, chunk_length_s", [("file", 30.0), ("file", 0.5), ("chunk", 0.5), ("frame", 0.5)])
def test_pipeline_batch_size_does_not_change_results(refinement, chunk_length_s):
    model = tiny_model()
    pipe = pipeline(TASK, model=model, feature_extractor=QrtseFeatureExtractor(sampling_rate=16000))
    # One shorter than an encoder window (the pipeline pads it), the others of 1 and 3 chunks.
    items = [noise(0.003, seed=1), noise(1.9, seed=2), noise(0.8, seed=3)]
    options = {"query": ["Bark", "Trumpet"], "threshold": 0.5, "return_probabilities": True}
    options.update(refinement=refinement, chunk_length_s=chunk_length_s)
    singles = [pipe(item, **options) for item in items]
    for out, single in zip(pipe(items, batch_size=3, **options), singles):
        assert out.keys() == single.keys() and out["refined_query"] == single["refined_query"]
        assert out["audio"].shape == single["audio"].shape
        assert np.abs(out["audio"] - single["audio"]).max() <= AUDIO_TOLERANCE
        assert out["class_probabilities"] == pytest.approx(single["class_probabilities"], abs=PROBABILITY_TOLERANCE)
        assert out["frame_probabilities"].shape == single["frame_probabilities"].shape
        assert np.abs(out["frame_probabilities"] - single["frame_probabilities"]).max() <= PROBABILITY_TOLERANCE
        if refinement == "chunk" and "chunks" in single:
            assert [c["refined_query"] for c in out["chunks"]] == [c["refined_query"] for c in single["chunks"]]
        if refinement == "frame":
            assert out["segments"] == single["segments"]

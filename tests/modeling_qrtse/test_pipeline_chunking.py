"""Long audio: overlap-save chunks reproduce one-pass extraction, seamlessly, in bounded memory."""

import itertools

import numpy as np
import pytest
import torch
from pipeline_helpers import make_pipeline, noise

from modeling_qrtse import QrtseConfig
from modeling_qrtse.chunking_qrtse import StreamingPooling, context_samples, crossfade_weights, plan_chunks
from modeling_qrtse.classifier_qrtse import pool_frames
from modeling_qrtse.long_form_qrtse import CROSSFADE_S

RATE = 16000
QUERY = ["Trumpet", "Bark"]


@pytest.mark.parametrize(
    "num_samples, chunk, context",
    [(100_000, 16_000, 800), (16_000, 16_000, 800), (23_999, 16_000, 0), (7, 16_000, 80), (40_000, 8_000, 20_000)],
)
def test_chunk_plan_tiles_the_input(num_samples, chunk, context):
    hop = 40
    plan = plan_chunks(num_samples, chunk, context, hop)
    assert plan[0].core_start == 0 and plan[-1].core_end == num_samples
    assert plan[0].is_first and plan[-1].is_last
    for previous, current in itertools.pairwise(plan):
        assert previous.core_end == current.core_start
    for piece in plan:
        assert piece.start % hop == 0 and piece.core_start % hop == 0
        assert piece.start == max(0, piece.core_start - context) and piece.end == min(
            num_samples, piece.core_end + context
        )
        assert piece.core_end - piece.core_start <= 1.5 * chunk


def test_crossfade_is_a_partition_of_unity():
    plan = plan_chunks(50_000, 8_000, 1_200, 40)
    total = np.zeros(50_000)
    for piece in plan:
        total[piece.start : piece.end] += crossfade_weights(piece, 800).numpy()
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@pytest.mark.parametrize("method", ["linear_softmax", "max", "mean"])
def test_streaming_pooling_equals_one_pass_pooling(method):
    torch.manual_seed(0)
    frames = torch.rand(3, 100, 5)
    weights = torch.rand(3, 100) > 0.2
    pooling = StreamingPooling(method)
    for start, stop in [(0, 17), (17, 60), (60, 100)]:
        pooling.add(frames[:, start:stop], weights[:, start:stop])
    torch.testing.assert_close(pooling.result(), pool_frames(frames, weights, method), rtol=1e-6, atol=1e-7)


def largest_jump_near(signal, borders, radius):
    return max(np.abs(np.diff(signal[max(0, b - radius) : b + radius])).max() for b in borders)


@pytest.mark.parametrize(
    "preset, seconds, chunk_s", [("tiny", 20.0, 1.5), pytest.param("small", 12.0, 2.5, marks=pytest.mark.slow)]
)
def test_chunked_equals_one_pass(preset, seconds, chunk_s):
    pipe = make_pipeline(QrtseConfig.from_preset(preset))
    audio = noise(seconds)
    one_pass = pipe(audio, query=QUERY, chunk_length_s=0, refine=False)["audio"]
    chunked = pipe(audio, query=QUERY, chunk_length_s=chunk_s, refine=False)["audio"]
    assert len(chunked) == len(audio)
    # Away from the borders and at them alike: full context makes overlap-save exact.
    assert np.abs(chunked - one_pass).max() < 1e-4
    borders = [round(k * chunk_s * RATE) for k in range(1, int(seconds / chunk_s))]
    radius = round(CROSSFADE_S * RATE)
    assert largest_jump_near(chunked, borders, radius) <= largest_jump_near(one_pass, borders, radius) + 1e-4


def test_short_context_is_approximate_but_seamless():
    pipe = make_pipeline()
    audio = noise(10.0)
    one_pass = pipe(audio, query=QUERY, chunk_length_s=0, refine=False)["audio"]
    chunked = pipe(audio, query=QUERY, chunk_length_s=2.0, context_s=0.0, refine=False)["audio"]
    borders = [k * 2 * RATE for k in range(1, 5)]
    radius = round(CROSSFADE_S * RATE)
    interior = np.ones(len(audio), bool)
    for border in borders:
        interior[border - 2 * radius : border + 2 * radius] = False
    assert np.abs(chunked - one_pass)[interior].max() < 1e-4  # cores are still exact
    assert np.abs(chunked - one_pass).max() > 1e-4  # the borders are not ...
    # ... but the crossfade leaves no click: no jump larger than the signal's own largest jump.
    assert largest_jump_near(chunked, borders, radius) <= 1.05 * np.abs(np.diff(one_pass)).max()


def test_memory_is_bounded_by_the_chunk(monkeypatch):
    pipe = make_pipeline()
    seen = []
    encode = pipe.model.encode
    monkeypatch.setattr(
        pipe.model, "encode", lambda values, *mask: seen.append(values.shape[-1]) or encode(values, *mask)
    )
    pipe(noise(10.0), query=QUERY, chunk_length_s=1.0)
    context = context_samples(pipe.model.config, round(CROSSFADE_S * RATE))
    assert max(seen) <= 1.5 * RATE + 2 * context
    assert len(seen) == 2 * 10  # refinement="file": a classification pass, then an extraction pass


def test_file_refinement_pools_every_frame_once():
    pipe = make_pipeline()
    audio = noise(6.0)
    one_pass = pipe(audio, query=QUERY, chunk_length_s=0, return_probabilities=True)
    chunked = pipe(audio, query=QUERY, chunk_length_s=1.0, return_probabilities=True)
    frames = chunked["frame_probabilities"]
    assert frames.shape == one_pass["frame_probabilities"].shape
    pooled = pool_frames(torch.from_numpy(frames)[None], torch.ones(1, len(frames)), "linear_softmax")[0]
    labels = list(pipe.model.config.id2label.values())
    np.testing.assert_allclose(pooled.numpy(), [chunked["class_probabilities"][label] for label in labels], atol=1e-6)


def test_single_chunk_file_refinement_equals_the_model():
    pipe = make_pipeline()
    audio = noise(3.0)
    out = pipe(audio, query=QUERY, threshold=0.45, return_probabilities=True)
    query = torch.zeros(1, 41)
    query[0, [2, 38]] = 1
    with torch.inference_mode():
        reference = pipe.model(torch.from_numpy(audio)[None], query, threshold=0.45)
    np.testing.assert_array_equal(out["audio"], reference.extracted_values[0].numpy())
    np.testing.assert_array_equal(out["frame_probabilities"], reference.frame_probabilities[0].numpy())
    labels = pipe.model.config.id2label
    assert out["refined_query"] == [labels[i] for i in torch.nonzero(reference.refined_query[0]).flatten().tolist()]


def test_chunk_refinement_extracts_each_chunk_with_its_own_query():
    pipe = make_pipeline()
    audio = noise(6.0, seed=3)
    file_level = pipe(audio, query=QUERY, chunk_length_s=1.0)["class_probabilities"]
    theta = (file_level["Bark"] + file_level["Trumpet"]) / 2
    out = pipe(audio, query=QUERY, chunk_length_s=1.0, refinement="chunk", threshold=theta, return_probabilities=True)
    chunks = out["chunks"]
    assert len(chunks) == 6 and chunks[0]["start"] == 0.0 and chunks[-1]["end"] == 6.0
    assert set(out["refined_query"]) == {label for chunk in chunks for label in chunk["refined_query"]}
    margin = round(CROSSFADE_S * RATE)
    for chunk in chunks:
        start, end = round(chunk["start"] * RATE), round(chunk["end"] * RATE)
        assert chunk["refined_query"] == [
            label for label in ["Bark", "Trumpet"] if chunk["class_probabilities"][label] >= theta
        ]
        if chunk["refined_query"]:
            expected = pipe(audio, query=chunk["refined_query"], chunk_length_s=0, refine=False)["audio"]
        else:
            expected = pipe(audio, query=QUERY, chunk_length_s=0, oracle_classes=[])["audio"]
        np.testing.assert_allclose(
            out["audio"][start + margin : end - margin], expected[start + margin : end - margin], atol=1e-4
        )


def test_chunk_refinement_without_refining_equals_file_mode():
    pipe = make_pipeline()
    audio = noise(8.0)
    a = pipe(audio, query=QUERY, chunk_length_s=2.0, refinement="chunk", refine=False)
    b = pipe(audio, query=QUERY, chunk_length_s=2.0, refine=False)
    np.testing.assert_allclose(a["audio"], b["audio"], atol=1e-6)
    assert a["class_probabilities"] == pytest.approx(b["class_probabilities"])


def test_long_silence_stays_silent():
    pipe = make_pipeline()
    out = pipe(np.zeros(10 * RATE, np.float32), query=QUERY, chunk_length_s=3.0)
    assert not out["audio"].any()


def test_gln_model_is_chunked_approximately_without_clicks():
    pipe = make_pipeline(QrtseConfig.from_preset("tiny", norm_type="gLN"))
    audio = noise(6.0)
    one_pass = pipe(audio, query=QUERY, chunk_length_s=0, refine=False)["audio"]
    chunked = pipe(audio, query=QUERY, chunk_length_s=1.0, refine=False)["audio"]
    assert np.isfinite(chunked).all() and np.abs(chunked - one_pass).max() < 0.1 * np.abs(one_pass).max()
    assert np.abs(np.diff(chunked)).max() <= 1.05 * np.abs(np.diff(one_pass)).max()

"""Frame-level query refinement: smoothing, the time-varying query, the engine's frame mode."""

import numpy as np
import pytest
import torch
from pipeline_helpers import make_pipeline, noise

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.frame_refinement_qrtse import frame_activity, frame_query, smooth_decisions
from modeling_qrtse.frame_smoothing_qrtse import FrameSmoothing
from modeling_qrtse.long_form_qrtse import extract_long_form

RATE = 16000
QUERY = ["Trumpet", "Bark"]
FRAME_RATE = 10.0  # one frame per 0.1 s makes the smoothing lengths easy to read below


def smooth(pattern: str, **seconds) -> str:
    decisions = torch.tensor([[float(c == "#") for c in pattern]])
    out = smooth_decisions(decisions, FrameSmoothing(**seconds), FRAME_RATE)
    return "".join("#" if v > 0.5 else "." for v in out[0].tolist())


def test_without_smoothing_decisions_pass_unchanged():
    assert smooth("..#.##...#") == "..#.##...#"


def test_each_smoothing_step():
    assert smooth("..#.##.###......", median_s=0.3) == "...#######......"  # majority of 3 frames
    assert smooth("##..##.....##", min_gap_s=0.4) == "######.....##"  # gaps of <= 4 frames filled
    assert smooth("#....##...#####..", min_event_s=0.4) == "..........#####.."  # events of <= 4 dropped
    assert smooth("....#.....", pad_s=0.2) == "..#####..."


def test_activity_thresholds_each_class_and_accepts_one_threshold_per_class():
    probabilities = torch.tensor([[[0.9, 0.2], [0.1, 0.6], [0.8, 0.4]]])
    assert frame_activity(probabilities, None, 0.5, FrameSmoothing(), FRAME_RATE)[0].tolist() == [
        [True, False],
        [False, True],
        [True, False],
    ]
    per_class = frame_activity(probabilities, None, torch.tensor([0.95, 0.3]), FrameSmoothing(), FRAME_RATE)
    assert per_class[0].tolist() == [[False, False], [False, True], [False, True]]


def test_a_class_must_pass_the_clip_decision_and_then_the_frame_threshold():
    frames = torch.tensor([[[0.9, 0.2], [0.1, 0.6], [0.35, 0.4]]])
    clip = torch.tensor([[0.7, 0.2]])  # the second class fails theta = 0.5 at clip level
    activity = frame_activity(frames, clip, 0.5, FrameSmoothing(threshold=0.3), FRAME_RATE)
    assert activity[0].tolist() == [[True, False], [False, False], [True, False]]


def test_a_local_presence_gate_keeps_a_short_event_that_the_clip_decision_drops():
    frames = torch.full((1, 100, 1), 0.02)
    frames[0, 40:50, 0] = 0.9  # one second of a sound in ten seconds (10 frames per second)
    clip = torch.tensor([[0.2]])  # pooled over the whole input: below theta
    assert not frame_activity(frames, clip, 0.5, FrameSmoothing(), FRAME_RATE).any()
    local = frame_activity(frames, clip, 0.5, FrameSmoothing(gate_s=2.0), FRAME_RATE)[0, :, 0]
    assert local.nonzero().flatten().tolist() == list(range(40, 50))


def test_local_presence_pools_like_the_classifier():
    from modeling_qrtse.classifier_qrtse import pool_frames
    from modeling_qrtse.frame_refinement_qrtse import local_presence

    torch.manual_seed(0)
    frames = torch.rand(2, 30, 3)
    for pooling in ("linear_softmax", "mean", "max"):
        pooled = local_presence(frames, 7, pooling)
        window = frames[:, 7:14]  # the 7 frames centred on frame 10
        expected = pool_frames(window, torch.ones(2, 7, dtype=torch.bool), pooling)
        torch.testing.assert_close(pooled[:, 10], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"median_s": -0.1}, "median_s must be a finite number >= 0"),
        ({"pad_s": float("nan")}, "pad_s must be a finite number >= 0"),
        ({"min_gap_s": "0.2"}, "min_gap_s must be a number of seconds"),
        ({"min_event_s": True}, "min_event_s must be a number of seconds"),
        ({"median": 0.1}, "unknown frame smoothing parameter"),
        ({"threshold": 1.5}, "threshold must be None or a number in \\[0, 1\\]"),
        ({"gate_s": 0.0}, "gate_s must be None or a finite number > 0"),
        ([0.1], "must be a dict of seconds"),
    ],
)
def test_bad_smoothing_parameters_get_clear_errors(values, message):
    with pytest.raises(ValueError, match=message):
        FrameSmoothing.from_dict(values)
    with pytest.raises(ValueError, match=message):
        QrtseConfig.from_preset("tiny", frame_smoothing=values)
    with pytest.raises(ValueError, match=message):
        make_pipeline()(noise(1.0), query=QUERY, refinement="frame", frame_smoothing=values)


@pytest.mark.parametrize("silence_empty_query", [False, True])
@pytest.mark.parametrize("optimized", [False, True])
def test_a_constant_query_through_the_frame_path_equals_the_clip_path(silence_empty_query, optimized):
    torch.manual_seed(0)
    model = QrtseModel(QrtseConfig.from_preset("tiny", silence_empty_query=silence_empty_query)).eval()
    model = model.optimize_for_inference() if optimized else model
    query = torch.zeros(2, 2, model.config.num_labels)
    query[:, 0, 1] = query[:, 1, 2] = query[1, 1, 5] = 1
    with torch.no_grad():
        analysis = model.analyze(torch.randn(2, 8000))
        frames = analysis.shared_features.shape[-1]
        clip = model.extract(analysis, query)
        per_frame = model.extract(analysis, query[:, :, None].expand(-1, -1, frames, -1))
    torch.testing.assert_close(per_frame, clip, rtol=0, atol=1e-6)


def engine(model, audio, query_labels, **options):
    query = torch.zeros(1, len(query_labels), model.config.num_labels)
    for k, label in enumerate(query_labels):
        query[0, k, model.config.label2id[label]] = 1
    with torch.no_grad():
        return extract_long_form(model, torch.from_numpy(audio)[None], query, **options)


def test_frame_mode_with_every_frame_kept_equals_extraction_without_refinement():
    model = make_pipeline().model
    audio = noise(5.0, seed=1)
    frames = model.config.num_frames_of(len(audio))
    everything = torch.ones(1, frames, model.config.num_labels, dtype=torch.bool)
    kept = engine(model, audio, QUERY, refinement="frame", frame_activity=everything, chunk_length_s=1.5)
    plain = engine(model, audio, QUERY, refine=False, chunk_length_s=0)
    torch.testing.assert_close(kept.extracted_values, plain.extracted_values, rtol=0, atol=1e-5)


def test_chunked_frame_refinement_equals_one_pass():
    model = make_pipeline().model
    audio = noise(7.0, seed=2)
    probabilities = engine(model, audio, QUERY, chunk_length_s=0).clip_probabilities[0]
    theta = float(probabilities[[model.config.label2id[q] for q in QUERY]].mean())
    smoothing = {"median_s": 0.05, "min_gap_s": 0.1, "min_event_s": 0.05, "pad_s": 0.05}
    chunked = engine(
        model, audio, QUERY, refinement="frame", threshold=theta, frame_smoothing=smoothing, chunk_length_s=1.5
    )
    activity = chunked.frame_activity
    assert activity.shape == (1, model.config.num_frames_of(len(audio)), model.config.num_labels)
    # The classifier's decisions vary over time here, so the test below checks a real frame query.
    queried = activity[0][:, [model.config.label2id[q] for q in QUERY]]
    assert queried.any() and not queried.all()
    one_pass = engine(model, audio, QUERY, refinement="frame", frame_activity=activity, chunk_length_s=0)
    torch.testing.assert_close(chunked.extracted_values, one_pass.extracted_values, rtol=0, atol=1e-5)
    # and one pass decides what chunked decides when the classifier sees the whole file at once
    whole = engine(
        model, audio, QUERY, refinement="frame", threshold=theta, frame_smoothing=smoothing, chunk_length_s=0
    )
    assert whole.frame_activity.shape == activity.shape


def test_frames_refined_to_no_class_are_silent_with_silence_empty_query():
    pipe = make_pipeline(QrtseConfig.from_preset("tiny", silence_empty_query=True))
    audio = noise(4.0, seed=4)
    frames = pipe.model.config.num_frames_of(len(audio))
    activity = torch.zeros(1, frames, pipe.model.config.num_labels, dtype=torch.bool)
    activity[0, : frames // 2] = True
    out = engine(pipe.model, audio, QUERY, refinement="frame", frame_activity=activity).extracted_values[0, 0].numpy()
    half = len(audio) // 2
    assert np.abs(out[: half - 800]).max() > 0
    assert np.abs(out[half + 800 :]).max() == 0.0


def test_pipeline_frame_mode_reports_where_each_queried_class_was_kept():
    pipe = make_pipeline()
    audio = noise(3.0, seed=5)
    out = pipe(audio, query=QUERY, refinement="frame", threshold=0.0, chunk_length_s=1.0)
    assert set(out["segments"]) == set(QUERY)
    for label in QUERY:
        assert out["segments"][label] == [(0.0, 3.0)]  # theta = 0 keeps every frame
    assert out["refined_query"] == sorted(QUERY)
    assert len(out["audio"]) == len(audio)


def test_frame_activity_needs_frame_mode_and_the_right_shape():
    model = make_pipeline().model
    audio = noise(1.0)
    with pytest.raises(ValueError, match='frame_activity needs refinement="frame"'):
        engine(model, audio, QUERY, frame_activity=torch.ones(1, 5, model.config.num_labels, dtype=torch.bool))
    with pytest.raises(ValueError, match="frame_activity must have shape"):
        engine(model, audio, QUERY, refinement="frame", frame_activity=torch.ones(1, 5, 3, dtype=torch.bool))


def test_frame_query_keeps_queried_classes_where_active():
    query = torch.tensor([[[1.0, 0.0, 1.0]]])
    activity = torch.tensor([[[True, True, False], [False, True, True]]])
    assert frame_query(query, activity)[0, 0].tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]

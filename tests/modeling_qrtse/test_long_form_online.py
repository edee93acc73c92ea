"""A causal model in the pipeline refines online by default (`refinement="online"`): as it streams,
so a file gives what `QrtseModel.forward` and `QrtseStreamer` give, with where each class was kept."""

import pytest
import torch
from causal_helpers import THRESHOLD, mixture, query, stream, tiny_causal_model
from pipeline_helpers import make_pipeline
from transformers import pipeline

from modeling_qrtse import TASK, QrtseFeatureExtractor
from modeling_qrtse.long_form_qrtse import ONLINE_NEEDS_CAUSAL, extract_long_form


@pytest.fixture(scope="module")
def model():
    return tiny_causal_model()


def test_online_is_a_causal_models_default_and_equals_its_forward_and_its_stream(model):
    waveform, multi_hot = mixture(batch=2, samples=4000), query(model, 2)
    with torch.no_grad():
        long_form = extract_long_form(model, waveform, multi_hot, threshold=THRESHOLD)
        forward = model(waveform, multi_hot, threshold=THRESHOLD)
        frames = model.refine_online(multi_hot, model.analyze(waveform), THRESHOLD)
    streamed = stream(model.streamer(multi_hot, threshold=THRESHOLD, batch_size=2), waveform, [160])
    assert torch.equal(long_form.extracted_values, forward.extracted_values)
    assert (long_form.extracted_values - streamed).abs().max() <= 1e-5
    assert torch.equal(long_form.refined_query, frames.amax(2))  # the classes kept in some frame
    num_frames = model.config.num_frames_of(waveform.shape[-1])
    kept_frames = frames.amax(1)[:, :num_frames] > 0
    assert torch.equal(long_form.frame_activity[:, :num_frames], kept_frames)
    assert 0 < kept_frames[..., [2, 5]].float().mean() < 1  # this model keeps and drops within the clip


def test_chunked_online_extraction_keeps_the_file_whole(model):
    """Long input in chunks: every sample is extracted once (crossfaded), the frame decisions
    cover the file, and the chunks' refined queries are unions of their frames."""
    waveform, multi_hot = mixture(batch=1, samples=16000), query(model, 1)
    with torch.no_grad():
        whole = extract_long_form(model, waveform, multi_hot, threshold=THRESHOLD, chunk_length_s=0)
        chunked = extract_long_form(model, waveform, multi_hot, threshold=THRESHOLD, chunk_length_s=0.25)
    assert chunked.extracted_values.shape == whole.extracted_values.shape
    assert chunked.frame_activity.shape == whole.frame_activity.shape
    assert torch.equal(chunked.refined_query, multi_hot * chunked.frame_activity.any(1)[:, None])
    # The online presence restarts at each chunk's context: decisions agree on most frames.
    agreement = (chunked.frame_activity == whole.frame_activity).float().mean()
    assert agreement > 0.9


def test_the_pipeline_reports_where_a_causal_model_kept_each_class(model):
    pipe = pipeline(TASK, model=model, feature_extractor=QrtseFeatureExtractor(sampling_rate=16000))
    labels = [model.config.id2label[i] for i in (2, 5)]
    out = pipe({"array": mixture(1, 8000)[0].numpy(), "sampling_rate": 16000}, query=labels, threshold=THRESHOLD)
    assert set(out["segments"]) == set(labels)
    assert out["refined_query"] == [label for label in sorted(labels) if out["segments"][label]]
    offline = pipe({"array": mixture(1, 8000)[0].numpy(), "sampling_rate": 16000}, query=labels, refinement="file")
    assert "segments" not in offline  # the offline modes stay available


def test_online_refinement_needs_a_causal_model():
    pipe = make_pipeline()
    with pytest.raises(ValueError, match="needs a causal model") as error:
        pipe(mixture(1, 1600)[0].numpy(), query=[pipe.model.config.id2label[0]], refinement="online")
    assert str(error.value) == ONLINE_NEEDS_CAUSAL

"""Streaming (issue 31): chunk by chunk equals the causal model's offline forward on the whole input,
whatever the chunk sizes, the batch, a query change mid-stream or a saved and restored state; a bad
chunk is refused before any work and leaves the stream as it was."""

import random

import numpy as np
import pytest
import torch
from causal_helpers import THRESHOLD, mixture, query, stream, tiny_causal_model

from modeling_qrtse.configuration_qrtse import QrtseConfig
from modeling_qrtse.modeling_qrtse import QrtseModel
from modeling_qrtse.streaming_qrtse import QrtseStreamer

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def model():
    return tiny_causal_model()


def offline(model, waveform, multi_hot, threshold=THRESHOLD):
    with torch.no_grad():
        return model(waveform, multi_hot, threshold=threshold)


def random_sizes(seed=0, count=200):
    generator = random.Random(seed)
    return [generator.randint(1, 400) for _ in range(count)]


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("sizes", ["hop", "7 hops", "160 samples", "random"])
def test_stream_equals_offline(model, batch, sizes):
    hop = model.config.hop_samples
    sizes = {"hop": [hop], "7 hops": [7 * hop], "160 samples": [160], "random": random_sizes(batch)}[sizes]
    waveform, multi_hot = mixture(batch), query(model, batch)
    expected = offline(model, waveform, multi_hot)
    refined = expected.refined_query[..., [2, 5]]
    assert refined.any() and not refined.all(), "refinement must keep and drop classes in this test"
    assert (expected.refined_query.sum(-1) == 0).any(), "some frames must name no class (the gate)"

    streamed = stream(model.streamer(multi_hot, threshold=THRESHOLD, batch_size=batch), waveform, sizes)

    assert streamed.shape == (batch, 1, waveform.shape[-1])
    assert (streamed[:, 0] - expected.extracted_values[:, 0]).abs().max() <= TOLERANCE


def test_one_dimensional_chunks_and_class_names(model):
    waveform = mixture(1)
    expected = offline(model, waveform, query(model, 1)[:, 0]).extracted_values[0]
    streamer = model.streamer([model.config.id2label[2], model.config.id2label[5]], threshold=THRESHOLD)
    outputs = [streamer.process(chunk) for chunk in waveform[0].split(160)]
    assert all(output.dim() == 1 for output in outputs)
    streamed = torch.cat([*outputs, streamer.flush()[0]])
    assert (streamed - expected).abs().max() <= TOLERANCE


def test_numpy_chunks(model):
    waveform = mixture(1)
    expected = offline(model, waveform, query(model, 1)[:, 0]).extracted_values[0]
    streamer = model.streamer(["2", "5"], threshold=THRESHOLD)
    outputs = [streamer.process(chunk) for chunk in np.array_split(waveform[0].numpy(), 17)]
    streamed = torch.cat([*outputs, streamer.flush()[0]])
    assert (streamed - expected).abs().max() <= TOLERANCE


def test_query_change_mid_stream(model):
    batch, waveform = 2, mixture(2)
    first, second = query(model, batch, (2, 5)), query(model, batch, (7,))
    streamer = model.streamer(first, threshold=THRESHOLD, batch_size=batch)
    head = [streamer.process(chunk) for chunk in waveform[:, :1200].split(100, dim=-1)]
    change = streamer.frames
    streamer.set_query(second)
    tail = [streamer.process(chunk) for chunk in waveform[:, 1200:].split(100, dim=-1)]
    streamed = torch.cat([*head, *tail, streamer.flush()], dim=-1)

    with torch.no_grad():
        analysis = model.analyze(waveform)
        frames = analysis.shared_features.shape[-1]
        varying = torch.cat(
            [first.unsqueeze(2).expand(-1, -1, change, -1), second.unsqueeze(2).expand(-1, -1, frames - change, -1)],
            dim=2,
        )
        expected = model.extract(analysis, model.refine_online(varying, analysis, THRESHOLD))
    assert (streamed - expected).abs().max() <= TOLERANCE
    assert (
        streamed - stream(model.streamer(first, threshold=THRESHOLD, batch_size=batch), waveform, [100])
    ).abs().max() > 1e-4


@pytest.mark.parametrize("threshold", [0.0, THRESHOLD])
def test_several_targets(model, threshold):
    batch, waveform = 2, mixture(2)
    multi_hot = torch.cat([query(model, batch, (2,)), query(model, batch, (5, 9))], dim=1)
    expected = offline(model, waveform, multi_hot, threshold).extracted_values
    streamed = stream(model.streamer(multi_hot, threshold=threshold, batch_size=batch), waveform, [123])
    assert streamed.shape == expected.shape
    assert (streamed - expected).abs().max() <= TOLERANCE


def test_saved_state_restores_the_stream(model):
    waveform = mixture(1)
    streamer = model.streamer([2, 5], threshold=THRESHOLD)
    for chunk in waveform[:, :1000].split(90, dim=-1):
        streamer.process(chunk)
    saved = streamer.state
    rest = waveform[:, 1000:].split(90, dim=-1)
    first = torch.cat([*(streamer.process(chunk) for chunk in rest), streamer.flush()], dim=-1)
    streamer.load_state(saved)
    again = torch.cat([*(streamer.process(chunk) for chunk in rest), streamer.flush()], dim=-1)
    assert torch.equal(first, again)


def test_reset_starts_a_new_stream(model):
    waveform = mixture(1)
    streamer = model.streamer([2, 5], threshold=THRESHOLD)
    first = stream(streamer, waveform, [160])
    streamer.process(mixture(1, 500, seed=1))
    streamer.reset()
    assert torch.equal(stream(streamer, waveform, [160]), first)


def test_latency_and_what_is_extracted(model):
    streamer = model.streamer([2, 5], threshold=THRESHOLD)
    config = model.config
    assert streamer.algorithmic_latency_s == config.window_samples / config.sampling_rate
    assert streamer.buffering_latency_s(160) == 0.01
    assert streamer.refined_labels() == [[[]]] and streamer.presence is None
    streamer.process(mixture(1, 800)[0])
    labels = streamer.refined_labels()[0][0]
    assert set(labels) <= {config.id2label[2], config.id2label[5]}
    assert streamer.presence.shape == (1, config.num_labels)
    kept = [config.id2label[index] for index in (2, 5) if streamer.presence[0, index] >= THRESHOLD]
    assert set(kept) <= set(labels)


def test_non_causal_model_is_refused():
    with pytest.raises(ValueError, match="causal model"):
        QrtseStreamer(QrtseModel(QrtseConfig.from_preset("tiny")), ["Bark"])


BAD_CHUNKS = {
    "integer samples": (lambda: torch.zeros(1, 160, dtype=torch.int16), "floating-point"),
    "wrong batch": (lambda: torch.zeros(2, 160), "shape"),
    "three axes": (lambda: torch.zeros(1, 1, 160), "shape"),
    "empty": (lambda: torch.zeros(1, 0), "empty chunk"),
    "NaN": (lambda: torch.full((1, 160), float("nan")), "NaN"),
    "a list": (lambda: [0.0] * 160, "torch.Tensor or numpy"),
}


@pytest.mark.parametrize("name", list(BAD_CHUNKS))
def test_bad_chunk_is_refused_and_the_stream_goes_on(model, name):
    make, message = BAD_CHUNKS[name]
    waveform = mixture(1)
    clean = stream(model.streamer([2, 5], threshold=THRESHOLD), waveform, [160])
    streamer = model.streamer([2, 5], threshold=THRESHOLD)
    outputs = [streamer.process(waveform[:, :1000])]
    with pytest.raises(ValueError, match=message):
        streamer.process(make())
    outputs.append(stream(streamer, waveform[:, 1000:], [160]))
    assert (torch.cat(outputs, dim=-1) - clean).abs().max() <= TOLERANCE


def test_wrong_rate_is_refused(model):
    streamer = model.streamer([2])
    with pytest.raises(ValueError, match="8000 Hz"):
        streamer.process(torch.zeros(160), sampling_rate=8000)
    assert streamer.state.samples_in == 0


def test_bad_query_mid_stream_changes_nothing(model):
    streamer = model.streamer([2, 5], threshold=THRESHOLD)
    streamer.process(mixture(1, 500)[0])
    before = streamer.query
    with pytest.raises(ValueError, match="Unknown|unknown"):
        streamer.set_query(["Not_a_sound_class"])
    with pytest.raises(ValueError, match="number of targets"):
        streamer.set_query([[2], [5]])
    assert torch.equal(streamer.query, before)

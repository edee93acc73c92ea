"""ONNX streaming (issue 31): one exported step run chunk by chunk with ONNX Runtime, the state
looped from its outputs to its inputs, equals PyTorch streaming (`QrtseStreamer`) with online
refinement keeping and dropping classes, a query change mid-stream, any chunk sizes, several
targets, a dynamic batch and every pooling; a non-causal model is refused."""

import random

import numpy as np
import pytest
import torch
from causal_helpers import THRESHOLD, mixture, query, stream, tiny_causal_model

from modeling_qrtse.configuration_qrtse import QrtseConfig
from modeling_qrtse.modeling_qrtse import QrtseModel
from modeling_qrtse.onnx_streaming import NEXT_STATE, STATE, OnnxStreamer, export_streaming_onnx

pytest.importorskip("onnxruntime")

TOLERANCE = 1e-4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Hundreds of tiny steps: PyTorch's thread pool costs more than it saves, and much more
    # on a machine whose other core is busy.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return tiny_causal_model()


class TorchOutputs:
    """An [`OnnxStreamer`] whose outputs are tensors, for `causal_helpers.stream`."""

    def __init__(self, streamer):
        self.streamer = streamer

    def process(self, chunk):
        return torch.from_numpy(self.streamer.process(chunk.numpy()))

    def flush(self):
        return torch.from_numpy(self.streamer.flush())


def test_onnx_steps_equal_pytorch_streaming_with_a_query_change(model, tmp_path):
    batch, frames_per_step = 2, 4
    path = export_streaming_onnx(
        model, tmp_path / "step.onnx", frames_per_step=frames_per_step, batch_size=batch, threshold=THRESHOLD
    )
    first, second = query(model, batch, (2, 5)), query(model, batch, (7,))
    onnx_streamer = OnnxStreamer(path, first.numpy())
    torch_streamer = model.streamer(first, threshold=THRESHOLD, batch_size=batch)
    step = onnx_streamer.step_samples
    assert step == frames_per_step * model.config.hop_samples

    waveform = mixture(batch, 3 * model.config.sampling_rate)  # three seconds, 300 steps
    refined = []
    for index, chunk in enumerate(waveform.split(step, dim=-1)):
        if index == 150:
            onnx_streamer.set_query(second.numpy())
            torch_streamer.set_query(second)
        extracted = onnx_streamer.process(chunk.numpy())
        expected = torch_streamer.process(chunk).numpy()
        dropped = model.config.frame_offset_samples if index == 0 else 0  # the encoder's left padding
        assert extracted.shape == expected.shape == (batch, 1, step - dropped)
        assert np.abs(extracted - expected).max() <= TOLERANCE
        assert np.abs(onnx_streamer.presence - torch_streamer.presence.numpy()).max() <= TOLERANCE
        assert ((onnx_streamer.refined_query > 0) == torch_streamer.refined_query.numpy()).all()
        refined.append(onnx_streamer.refined_query[..., [2, 5, 7]])
    refined = np.stack(refined)
    assert refined.any() and not refined.all(), "refinement must keep and drop classes in this test"
    before, after = refined[:150], refined[150:]  # classes 2, 5, then 7
    assert before[..., :2].any() and not before[..., 2].any() and after[..., 2].any() and not after[..., :2].any()

    tail = onnx_streamer.flush()
    assert np.abs(tail - torch_streamer.flush().numpy()).max() <= TOLERANCE
    assert tail.shape[-1] == model.config.frame_offset_samples


@pytest.mark.parametrize(("pooling", "frames_per_step"), [("linear_softmax", 3), ("max", 1), ("mean", 2)])
def test_any_chunks_several_targets_and_a_dynamic_batch(pooling, frames_per_step):
    model = tiny_causal_model(classifier_pooling=pooling)
    graph = export_streaming_onnx(
        model, frames_per_step=frames_per_step, num_queries=2, batch_size=None, threshold=THRESHOLD
    )
    multi_hot = torch.cat([query(model, 3, (2,)), query(model, 3, (5, 9))], dim=1)
    generator = random.Random(0)
    sizes = [generator.randint(1, 300) for _ in range(100)]
    waveform = mixture(3, 12000)
    for batch in (1, 3):
        onnx_streamer = OnnxStreamer(graph, multi_hot[:batch].numpy(), batch_size=batch)
        streamed = stream(TorchOutputs(onnx_streamer), waveform[:batch], sizes)
        expected = stream(
            model.streamer(multi_hot[:batch], threshold=THRESHOLD, batch_size=batch), waveform[:batch], sizes
        )
        assert streamed.shape == (batch, 2, waveform.shape[-1])
        assert (streamed - expected).abs().max() <= TOLERANCE
    # The stream's frame count is part of the state where "mean" pooling reads it.
    assert any(node.name == STATE + "frames" for node in onnx_streamer.session.get_inputs()) == (pooling == "mean")


def test_every_state_input_has_its_output(model):
    session = OnnxStreamer(export_streaming_onnx(model, threshold=THRESHOLD), query(model, 1).numpy()).session
    inputs = {node.name: node.shape for node in session.get_inputs()}
    outputs = {node.name: node.shape for node in session.get_outputs()}
    config = model.config
    blocks = config.shared_blocks * config.shared_repeats + config.mask_blocks * config.mask_repeats
    states = [name[len(STATE) :] for name in inputs if name.startswith(STATE)]
    assert len(states) == 1 + blocks + 5  # encoder tail, blocks, GRU, three refinement windows, decoder tail
    assert all(outputs[NEXT_STATE + name] == inputs[STATE + name] for name in states)
    assert list(outputs)[:3] == ["extracted_values", "presence", "refined_query"]


def test_non_causal_model_is_refused():
    with pytest.raises(ValueError, match="causal model"):
        export_streaming_onnx(QrtseModel(QrtseConfig.from_preset("tiny")))


@pytest.mark.parametrize(
    ("setting", "value"), [("frames_per_step", 0), ("num_queries", True), ("batch_size", 1.5), ("threshold", 2.0)]
)
def test_bad_settings_are_refused(model, setting, value):
    with pytest.raises(ValueError, match=setting.split("_")[0]):
        export_streaming_onnx(model, **{setting: value})


def test_streamer_refuses_what_its_graph_cannot_run(model):
    graph = export_streaming_onnx(model, batch_size=2, threshold=THRESHOLD)
    with pytest.raises(ValueError, match="2 streams"):
        OnnxStreamer(graph, query(model, 3).numpy(), batch_size=3)
    streamer = OnnxStreamer(graph, query(model, 1).numpy()[0])
    with pytest.raises(ValueError, match="query"):
        streamer.set_query(np.zeros((2, 2, model.config.num_labels)))
    with pytest.raises(ValueError, match="chunk"):
        streamer.process(np.zeros(160))

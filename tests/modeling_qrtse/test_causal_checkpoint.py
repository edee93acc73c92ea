"""The embedded causal model (issue 31): a small-causal model with its validation-chosen theta,
small enough to embed, that streams a shipped example exactly as it extracts it offline and is
the default of `qrtse stream` and the Space's Live tab."""

import pytest
import torch

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.default_checkpoint import causal_model_available, causal_model_path
from modeling_qrtse.example_mixtures import example_mixture


@pytest.fixture(scope="module")
def model():
    assert causal_model_available(), f"the embedded causal model is missing from {causal_model_path()}"
    return QrtseModel.from_pretrained(causal_model_path()).eval()


def test_it_is_the_small_causal_preset_and_small(model):
    small = QrtseConfig.from_preset("small-causal")
    for name in ("causal", "encoder_filters", "hidden_channels", "mask_blocks", "classifier_hidden_size"):
        assert getattr(model.config, name) == getattr(small, name), name
    assert 0 < model.config.refinement_threshold < 1 and model.config.silence_empty_query
    assert sum(path.stat().st_size for path in causal_model_path().glob("*.safetensors")) < 10 * 2**20


def test_it_streams_an_example_as_it_extracts_it_offline(model):
    example = example_mixture(1)
    audio, rate = example.load()
    assert rate == model.config.sampling_rate
    waveform = torch.from_numpy(audio[: 2 * rate])[None]
    streamer = model.streamer(list(example.query))
    chunks = [streamer.process(chunk) for chunk in waveform.split(160, dim=-1)]
    streamed = torch.cat([*chunks, streamer.flush()], dim=-1)
    with torch.no_grad():
        offline = model(waveform, streamer.query[:, 0]).extracted_values
    assert streamed.shape == offline.shape
    assert (streamed - offline).abs().max() <= 1e-5

"""Helpers shared by the pipeline and CLI tests."""

import io

import numpy as np
import soundfile as sf
import torch
from transformers import pipeline

from modeling_qrtse import TASK, QrtseConfig, QrtseFeatureExtractor, QrtseModel


def make_pipeline(config=None, seed=0):
    """A pipeline around a randomly initialised model (tiny preset unless `config` is given)."""
    torch.manual_seed(seed)
    model = QrtseModel(config or QrtseConfig.from_preset("tiny")).eval()
    return pipeline(
        TASK, model=model, feature_extractor=QrtseFeatureExtractor(sampling_rate=model.config.sampling_rate)
    )


def wav_bytes(audio, rate, subtype="PCM_16", format="WAV"):
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, subtype=subtype, format=format)
    return buffer.getvalue()


def noise(seconds, rate=16000, channels=None, seed=0):
    """Noise with a varying envelope, so extraction outputs are not trivially constant."""
    rng = np.random.default_rng(seed)
    length = int(seconds * rate)
    envelope = np.repeat(rng.uniform(0.02, 0.2, length // 800 + 1), 800)[:length]
    shape = (length,) if channels is None else (length, channels)
    audio = rng.standard_normal(shape) * (envelope if channels is None else envelope[:, None])
    return np.clip(audio, -0.99, 0.99).astype(np.float32)  # storable as 16-bit PCM without clipping


def run_cli(capsys, *argv):
    """`qrtse ARGV...` in process: `(exit code, stdout, stderr)`."""
    from modeling_qrtse import cli

    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err

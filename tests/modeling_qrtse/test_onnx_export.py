import numpy as np
import pytest
import torch

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.cli import main
from modeling_qrtse.onnx_export import export_onnx, onnx_session

pytest.importorskip("onnxruntime")

TOLERANCE = 1e-4


def mixtures(config, batch, length, seed):
    generator = torch.Generator().manual_seed(seed)
    waveform = torch.randn(batch, length, generator=generator) * 0.1
    query = torch.zeros(batch, config.num_labels)
    query[:, [0, 3, 7]] = 1
    return waveform, query


def test_onnx_matches_pytorch_at_two_lengths_with_refinement(tiny_model):
    probe, query = mixtures(tiny_model.config, 2, 16000, seed=0)
    with torch.no_grad():
        probabilities = tiny_model(probe, query, threshold=0.0).clip_probabilities[:, [0, 3, 7]]
    # A threshold between the queried classes' probabilities, so that refinement drops some.
    threshold = float(probabilities.flatten().median())
    session = onnx_session(export_onnx(tiny_model, threshold=threshold), threads=1)
    for length, seed in ((16000, 1), (12345, 2)):  # different lengths and encoder paddings
        waveform, query = mixtures(tiny_model.config, 2, length, seed)
        with torch.no_grad():
            reference = tiny_model(waveform, query, threshold=threshold)
        extracted, clip_probabilities = session.run(None, {"input_values": waveform.numpy(), "query": query.numpy()})
        assert extracted.shape == (2, length)
        assert np.abs(extracted - reference.extracted_values.numpy()).max() < TOLERANCE
        assert np.abs(clip_probabilities - reference.clip_probabilities.numpy()).max() < TOLERANCE


def test_frame_refinement_in_onnx_matches_the_engine_at_two_lengths(tiny_model):
    from modeling_qrtse.long_form_qrtse import extract_long_form

    probe, query = mixtures(tiny_model.config, 1, 16000, seed=0)
    with torch.no_grad():
        frames = tiny_model(probe, query, threshold=0.0).frame_probabilities[..., [0, 3, 7]]
    threshold = float(frames.flatten().median())  # frame decisions that change over time
    smoothing = {"median_s": 0.02, "min_gap_s": 0.05, "min_event_s": 0.02, "pad_s": 0.02}
    session = onnx_session(
        export_onnx(tiny_model, threshold=threshold, refinement="frame", frame_smoothing=smoothing), threads=1
    )
    for length, seed in ((16000, 1), (12345, 2)):
        waveform, query = mixtures(tiny_model.config, 2, length, seed)
        extracted, _, activity = session.run(None, {"input_values": waveform.numpy(), "query": query.numpy()})
        with torch.no_grad():
            reference = extract_long_form(
                tiny_model, waveform, query[:, None], threshold=threshold, refinement="frame", frame_smoothing=smoothing
            )
        expected = reference.frame_activity.numpy()
        assert activity.shape == expected.shape and (activity == expected).all()
        assert np.abs(extracted - reference.extracted_values[:, 0].numpy()).max() < TOLERANCE


def test_model_without_classifier_exports_the_extraction_only():
    torch.manual_seed(0)
    model = QrtseModel(QrtseConfig.from_preset("tiny", use_classifier=False)).eval()
    session = onnx_session(export_onnx(model), threads=1)
    waveform, query = mixtures(model.config, 1, 9000, seed=3)
    outputs = session.run(None, {"input_values": waveform.numpy(), "query": query.numpy()})
    assert len(outputs) == 1
    with torch.no_grad():
        expected = model(waveform, query, threshold=0.0).extracted_values.numpy()
    assert np.abs(outputs[0] - expected).max() < TOLERANCE


def test_export_onnx_command(tiny_model, tmp_path, capsys):
    tiny_model.save_pretrained(tmp_path / "model")
    output = tmp_path / "model.onnx"
    assert main(["export-onnx", "--model", str(tmp_path / "model"), "-o", str(output), "--threshold", "0.2"]) == 0
    assert "wrote" in capsys.readouterr().out
    waveform, query = mixtures(tiny_model.config, 1, 4000, seed=4)
    extracted, _ = onnx_session(output, threads=1).run(None, {"input_values": waveform.numpy(), "query": query.numpy()})
    with torch.no_grad():
        expected = tiny_model(waveform, query, threshold=0.2).extracted_values.numpy()
    assert np.abs(extracted - expected).max() < TOLERANCE


def test_export_onnx_rejects_a_bad_threshold(capsys):
    assert main(["export-onnx", "--preset", "tiny", "--threshold", "1.5"]) == 2
    assert "threshold" in capsys.readouterr().err

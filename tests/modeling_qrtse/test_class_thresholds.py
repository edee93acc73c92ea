"""Per-class thresholds (`config.class_thresholds`): eq. (7) with one theta per class, used by
default by the model, the long-form engine, the pipeline, the CLI and ONNX export; a
`threshold=` given to a call overrides them all."""

import json

import numpy as np
import pytest
import torch
from pipeline_helpers import make_pipeline, noise
from pipeline_helpers import run_cli as run

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.label_space_qrtse import with_labels
from modeling_qrtse.long_form_qrtse import extract_long_form
from modeling_qrtse.refinement_qrtse import check_threshold, refine_query, resolve_threshold


def split_thresholds(model, waveform, query_classes):
    """Per-class thresholds that keep the first queried class and drop the others, placed just
    below / above this model's probabilities on `waveform`; returns them and the probabilities."""
    with torch.no_grad():
        probabilities = model(waveform, torch.ones(1, model.config.num_labels), threshold=0.0).clip_probabilities[0]
    labels = [model.config.id2label[index] for index in query_classes]
    first, *others = [float(probabilities[index]) for index in query_classes]
    thresholds = {labels[0]: first * 0.99}
    thresholds |= {label: min(1.0, p * 1.01 + 1e-6) for label, p in zip(labels[1:], others)}
    return thresholds, probabilities


QUERIED = [0, 3, 7]


def with_split_thresholds(model, seed):
    """A mixture, a query of `QUERIED`, and `model` given per-class thresholds that keep only
    the first queried class on it; returns the mixture, query and probabilities."""
    waveform = torch.randn(1, 3200, generator=torch.Generator().manual_seed(seed)) * 0.1
    model.config.class_thresholds, probabilities = split_thresholds(model, waveform, QUERIED)
    query = torch.zeros(1, model.config.num_labels)
    query[0, QUERIED] = 1
    return waveform, query, probabilities


def test_refine_query_takes_one_theta_per_class():
    query = torch.tensor([[1.0, 1.0, 1.0]])
    presence = torch.tensor([[0.2, 0.2, 0.9]])
    assert refine_query(query, presence, torch.tensor([0.1, 0.5, 0.95])).tolist() == [[1.0, 0.0, 0.0]]
    assert refine_query(query[:, None], presence, torch.tensor([0.1, 0.5, 0.5])).tolist() == [[[1.0, 0.0, 1.0]]]


def test_resolve_threshold_prefers_the_call_then_the_classes_then_the_default():
    config = QrtseConfig.from_preset("tiny", refinement_threshold=0.3, class_thresholds={"Bark": 0.6, "Meow": 0.05})
    per_class = resolve_threshold(config)
    assert per_class.shape == (config.num_labels,)
    assert per_class[config.label2id["Bark"]] == pytest.approx(0.6)
    assert per_class[config.label2id["Meow"]] == pytest.approx(0.05)
    assert per_class[config.label2id["Trumpet"]] == pytest.approx(0.3)
    assert resolve_threshold(config, 0.7) == 0.7
    assert resolve_threshold(QrtseConfig.from_preset("tiny", refinement_threshold=0.3)) == 0.3


@pytest.mark.parametrize(
    ("class_thresholds", "message"),
    [
        ({"Not_a_class": 0.2}, "Not_a_class"),
        ({"Bark": 1.5}, "class_thresholds['Bark']"),
        ({"Bark": "high"}, "class_thresholds['Bark']"),
        ({"Bark": True}, "class_thresholds['Bark']"),
    ],
)
def test_bad_class_thresholds_are_clear_errors(class_thresholds, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        QrtseConfig.from_preset("tiny", class_thresholds=class_thresholds)


def test_check_threshold_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(41,\) tensor"):
        check_threshold(torch.zeros(3), 41)
    with pytest.raises(ValueError, match="per-class threshold"):
        check_threshold(torch.full((41,), 2.0), 41)


def test_class_thresholds_survive_saving(tmp_path):
    config = QrtseConfig.from_preset("tiny", class_thresholds={"Bark": 0.6})
    config.save_pretrained(tmp_path)
    assert QrtseConfig.from_pretrained(tmp_path).class_thresholds == {"Bark": 0.6}


def test_model_refines_with_its_class_thresholds_unless_a_threshold_is_given(tiny_model):
    waveform, query, probabilities = with_split_thresholds(tiny_model, seed=3)
    with torch.no_grad():
        refined = tiny_model(waveform, query).refined_query[0]
        kept_all = tiny_model(waveform, query, threshold=0.0).refined_query[0]
        single = min(1.0, float(probabilities[QUERIED].max()) + 1e-6)
        dropped_all = tiny_model(waveform, query, threshold=single).refined_query[0]
    assert refined.nonzero().flatten().tolist() == [0]
    assert torch.equal(kept_all, query[0]) and dropped_all.sum() == 0
    # The long-form engine (file and frame refinement) takes the same default.
    engine = extract_long_form(tiny_model, waveform, query[:, None], chunk_length_s=0.1)
    assert torch.equal(engine.refined_query[0, 0], refined)


def test_pipeline_and_its_override(tmp_path):
    pipe = make_pipeline()
    model = pipe.model
    audio = noise(0.5, 16000, seed=4)
    query_labels = ["Acoustic_guitar", "Bark", "Trumpet"]
    queried = [model.config.label2id[label] for label in query_labels]
    thresholds, _ = split_thresholds(model, torch.from_numpy(audio)[None], queried)
    model.config.class_thresholds = thresholds
    out = pipe({"array": audio, "sampling_rate": 16000}, query=query_labels)
    assert out["refined_query"] == [model.config.id2label[queried[0]]]
    out = pipe({"array": audio, "sampling_rate": 16000}, query=query_labels, threshold=0.0)
    assert out["refined_query"] == sorted(query_labels)


def test_cli_reports_each_class_theta(capsys, tmp_path):
    import soundfile as sf

    pipe = make_pipeline()
    pipe.model.config.class_thresholds = {"Bark": 0.9, "Trumpet": 0.0}
    folder = tmp_path / "model"
    pipe.save_pretrained(folder)
    mixture = tmp_path / "mix.wav"
    sf.write(mixture, noise(0.5, 16000), 16000)
    argv = ("extract", str(mixture), "--query", "Bark", "Trumpet", "--model", str(folder), "--json")
    code, stdout, _ = run(capsys, *argv, "-o", str(tmp_path / "a.wav"))
    assert code == 0
    summary = json.loads(stdout)
    assert summary["threshold"]["Bark"] == 0.9 and summary["threshold"]["Trumpet"] == 0.0
    assert summary["threshold"]["Meow"] == pipe.model.config.refinement_threshold
    assert "Trumpet" in summary["targets"][0]["refined_query"]  # theta 0 keeps it whatever p is
    code, stdout, _ = run(capsys, *argv, "-o", str(tmp_path / "b.wav"), "--threshold", "0.25")
    assert json.loads(stdout)["threshold"] == 0.25


def test_with_labels_keeps_the_thresholds_of_the_classes_that_stay(tiny_config):
    tiny_config.class_thresholds = {"Bark": 0.6, "Meow": 0.2}
    moved = with_labels(QrtseModel(tiny_config), ["Bark", "Trumpet", "Shatter"])
    assert moved.config.class_thresholds == {"Bark": 0.6}


def test_onnx_graph_carries_the_class_thresholds(tiny_model):
    pytest.importorskip("onnxruntime")
    from modeling_qrtse.onnx_export import export_onnx, onnx_session

    waveform, query, _ = with_split_thresholds(tiny_model, seed=5)
    session = onnx_session(export_onnx(tiny_model), threads=1)
    extracted, _ = session.run(None, {"input_values": waveform.numpy(), "query": query.numpy()})
    with torch.no_grad():
        reference = tiny_model(waveform, query)
    assert reference.refined_query[0].nonzero().flatten().tolist() == [0]
    assert np.abs(extracted - reference.extracted_values.numpy()).max() < 1e-4

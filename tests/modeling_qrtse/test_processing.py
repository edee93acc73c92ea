"""`QrtseProcessor`: the query encoder (names, indices, multi-hot -> the query tensor and back),
the model's inputs, save -> load with `AutoProcessor` (in the package and as remote code), and
the one place a query is parsed."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from pipeline_helpers import make_pipeline, noise, run_cli
from transformers import AutoProcessor, pipeline

from modeling_qrtse import (
    FSD_KAGGLE_2018_LABELS,
    TASK,
    QrtseConfig,
    QrtseFeatureExtractor,
    QrtseModel,
    QrtseProcessor,
    TargetSoundExtractionPipeline,
    default_model_path,
)

ROOT = Path(__file__).resolve().parents[2]
LABELS = list(FSD_KAGGLE_2018_LABELS)
BARK, TRUMPET, MEOW = LABELS.index("Bark"), LABELS.index("Trumpet"), LABELS.index("Meow")


@pytest.fixture(scope="module")
def processor():
    return QrtseProcessor.from_config(QrtseConfig.from_preset("tiny"))


def multi_hot(*indices):
    vector = torch.zeros(len(LABELS))
    vector[list(indices)] = 1
    return vector


@pytest.mark.parametrize(
    "query",
    [
        ["Trumpet", "Bark"],
        ("bark", "TRUMPET"),
        ["trumpet", BARK],
        [TRUMPET, BARK],
        [str(TRUMPET), f" {BARK} "],
        multi_hot(TRUMPET, BARK).numpy(),
        multi_hot(TRUMPET, BARK),
    ],
)
def test_one_query_set_round_trips_to_names(processor, query):
    encoded = processor.encode_query(query)
    assert encoded.dtype == torch.float32 and torch.equal(encoded, multi_hot(TRUMPET, BARK))
    assert processor.decode_query(encoded) == ["Bark", "Trumpet"]  # vocabulary order


@pytest.mark.parametrize(
    "query", [[["Trumpet"], ["Bark", "Meow"]], torch.stack([multi_hot(TRUMPET), multi_hot(BARK, MEOW)])]
)
def test_several_query_sets_round_trip(processor, query):
    encoded = processor.encode_query(query)
    assert encoded.shape == (2, len(LABELS))
    assert processor.decode_query(encoded) == [["Trumpet"], ["Bark", "Meow"]]
    assert processor.decode_query(encoded[None]) == [[["Trumpet"], ["Bark", "Meow"]]]


def test_presence_may_be_empty_but_is_one_set(processor):
    assert not processor.encode_presence([]).any()
    assert torch.equal(processor.encode_presence(["Bark", MEOW]), multi_hot(BARK, MEOW))
    with pytest.raises(ValueError, match="one set"):
        processor.encode_presence([["Bark"], ["Meow"]])


def test_empty_query_sets_only_where_allowed(processor):
    assert not processor.encode_query([], allow_empty=True).any()
    with pytest.raises(ValueError, match="names no class"):
        processor.encode_query([])


@pytest.mark.parametrize(
    "query, message",
    [
        (None, "No query"),
        ([], "names no class"),
        ("", "names no class"),
        (np.zeros(41), "names no class"),
        (["dog"], "Unknown class 'dog'. Did you mean 'Bark'"),
        ([99], "class index 99 is out of range: the model has 41 classes"),
        (["41"], "out of range"),
        (np.ones(40), "shape"),
        (np.full(41, 0.5), "only 0 and 1"),
        ([["Bark"], "Meow"], "Mix of query sets"),
        ([1.5], "label names or class indices"),
        ([True], "label names or class indices"),
    ],
)
def test_bad_queries_are_one_line_value_errors(processor, query, message):
    with pytest.raises(ValueError, match=message) as error:
        processor.encode_query(query)
    assert "\n" not in str(error.value)


def test_probabilities_back_to_names(processor):
    probabilities = torch.linspace(0, 1, len(LABELS))
    ranked = processor.decode_probabilities(probabilities)
    assert list(ranked) == LABELS[::-1] and ranked[LABELS[-1]] == pytest.approx(1.0)
    assert all(type(p) is float for p in ranked.values())
    assert list(processor.decode_probabilities(probabilities.numpy(), sort=False)) == LABELS
    assert processor.decode_probabilities(probabilities.bfloat16())["Bark"] == pytest.approx(BARK / 40, abs=4e-3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: p.decode_probabilities(torch.zeros(40)), r"probabilities must have shape \(41,\)"),
        (lambda p: p.decode_probabilities(torch.zeros(2, 41)), r"probabilities must have shape \(41,\)"),
        (lambda p: p.decode_query(torch.zeros(3)), r"query must have shape \(\.\.\., 41\)"),
        (lambda p: p(), "give audio, a query or both"),
    ],
)
def test_bad_outputs_to_decode(processor, call, message):
    with pytest.raises(ValueError, match=message):
        call(processor)


@pytest.mark.parametrize(
    "labels, message",
    [
        ([], "non-empty list"),
        ("Bark", "list of class names"),
        (["Bark", ""], "non-empty strings"),
        (["Bark", 3], "non-empty strings"),
        (["Bark", "Meow", "Bark"], r"distinct, got \['Bark'\]"),
    ],
)
def test_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        QrtseProcessor(QrtseFeatureExtractor(), labels=labels)


def test_a_processor_without_classes_says_so():
    with pytest.raises(ValueError, match="no classes"):
        QrtseProcessor(QrtseFeatureExtractor()).encode_query(["Bark"])


@pytest.mark.parametrize("several", [False, True])
@pytest.mark.parametrize("batch_size", [1, 2])
def test_model_inputs(processor, several, batch_size):
    query = [["Trumpet"], ["Bark", "Meow"]] if several else ["Trumpet", "Bark"]
    clips = [noise(0.3, 44100, 2, seed=seed) for seed in range(batch_size)]
    inputs = processor(clips if batch_size > 1 else clips[0], sampling_rate=44100, query=query, oracle_classes=["Bark"])
    samples = round(0.3 * 16000)
    assert inputs["input_values"].shape == inputs["attention_mask"].shape == (batch_size, samples)
    assert inputs["query"].shape == (batch_size, *([2] if several else []), len(LABELS))
    assert torch.equal(inputs["query"][-1], processor.encode_query(query))
    assert torch.equal(inputs["oracle_presence"], multi_hot(BARK).expand(batch_size, -1))
    np.testing.assert_array_equal(
        inputs["input_values"][0].numpy(), processor.feature_extractor(clips[0], sampling_rate=44100)["input_values"][0]
    )
    torch.manual_seed(0)
    model = QrtseModel(QrtseConfig.from_preset("tiny")).eval()
    with torch.inference_mode():
        out = model(**inputs)
    assert out.extracted_values.shape[-1] == samples
    # Refined with the oracle: each query set keeps what is present.
    assert processor.decode_query(out.refined_query[-1]) == ([[], ["Bark"]] if several else ["Bark"])


def test_query_without_audio(processor):
    assert torch.equal(processor(query="Bark")["query"], multi_hot(BARK)[None])


def test_save_load_round_trip(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["processor_class"] == "QrtseProcessor" and saved["labels"] == LABELS
    assert saved["auto_map"]["AutoProcessor"] == "processing_qrtse.QrtseProcessor"
    assert saved["feature_extractor"]["sampling_rate"] == 16000
    # Remote code: the processor and its sibling imports.
    assert {"processing_qrtse.py", "feature_extraction_qrtse.py", "query_qrtse.py"} <= {
        p.name for p in tmp_path.iterdir()
    }
    for loaded in (AutoProcessor.from_pretrained(tmp_path), QrtseProcessor.from_pretrained(tmp_path)):
        assert type(loaded) is QrtseProcessor and loaded.labels == LABELS
        assert type(loaded.feature_extractor) is QrtseFeatureExtractor
        assert loaded.feature_extractor.sampling_rate == 16000
        assert torch.equal(loaded.encode_query("bark"), multi_hot(BARK))


def test_a_folder_saved_without_the_processor_takes_the_config_classes(tmp_path):
    labels = ["Laughter", "Trumpet", "Bark"]
    QrtseModel(QrtseConfig.from_preset("tiny", id2label=dict(enumerate(labels)))).save_pretrained(tmp_path)
    QrtseFeatureExtractor(sampling_rate=8000).save_pretrained(tmp_path)
    assert not (tmp_path / "processor_config.json").exists()
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is QrtseProcessor and loaded.labels == labels
    assert loaded.feature_extractor.sampling_rate == 8000
    assert loaded.decode_query(loaded.encode_query([2, "trumpet"])) == ["Trumpet", "Bark"]


@pytest.mark.skipif(not (default_model_path() / "config.json").exists(), reason="embedded checkpoint not trained yet")
def test_auto_processor_on_the_embedded_default_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = AutoProcessor.from_pretrained(default_model_path())
    config = QrtseConfig.from_pretrained(default_model_path())
    assert type(loaded) is QrtseProcessor
    assert loaded.labels == [config.id2label[index] for index in range(config.num_labels)]
    assert loaded.feature_extractor.sampling_rate == config.sampling_rate
    loaded.check_model_config(config)


def test_the_pipeline_parses_and_names_through_its_processor(tiny_pipeline, monkeypatch):
    assert isinstance(tiny_pipeline.processor, QrtseProcessor)
    assert tiny_pipeline.processor.feature_extractor is tiny_pipeline.feature_extractor
    calls = []
    for name in ("encode_query", "decode_query", "decode_probabilities"):
        method = getattr(QrtseProcessor, name)
        monkeypatch.setattr(
            QrtseProcessor, name, lambda self, *a, _m=method, _n=name, **k: calls.append(_n) or _m(self, *a, **k)
        )
    out = tiny_pipeline(noise(0.3), query=["Trumpet", "Bark"], threshold=0.0)
    assert out["query"] == out["refined_query"] == ["Bark", "Trumpet"]
    assert {"encode_query", "decode_query", "decode_probabilities"} <= set(calls)


def test_pipeline_results_equal_the_model_on_the_processor_inputs(tiny_pipeline):
    audio = noise(0.5, 44100, 2)
    processor, model = tiny_pipeline.processor, tiny_pipeline.model
    out = tiny_pipeline({"array": audio, "sampling_rate": 44100}, query=["Trumpet", "Bark"], threshold=0.2)
    with torch.inference_mode():
        reference = model(**processor(audio, sampling_rate=44100, query=["Trumpet", "Bark"]), threshold=0.2)
    np.testing.assert_allclose(out["audio"], reference.extracted_values[0].numpy(), atol=1e-6)
    assert out["refined_query"] == processor.decode_query(reference.refined_query[0])
    assert out["class_probabilities"] == pytest.approx(processor.decode_probabilities(reference.clip_probabilities[0]))


def test_a_processor_given_to_the_pipeline(tiny_pipeline_folder):
    given = AutoProcessor.from_pretrained(tiny_pipeline_folder)
    pipe = pipeline(
        TASK, model=str(tiny_pipeline_folder), pipeline_class=TargetSoundExtractionPipeline, processor=given
    )
    assert pipe.processor is given and pipe.feature_extractor is given.feature_extractor
    expected = make_pipeline()(noise(0.5), query=["Bark"])["audio"]
    np.testing.assert_array_equal(pipe(noise(0.5), query=["Bark"])["audio"], expected)
    other = QrtseProcessor(QrtseFeatureExtractor(), labels=LABELS[::-1])
    with pytest.raises(ValueError, match="the processor's classes are not the model's"):
        TargetSoundExtractionPipeline(model=pipe.model, processor=other)
    with pytest.raises(ValueError, match="processor must be a QrtseProcessor, got str"):
        TargetSoundExtractionPipeline(model=pipe.model, processor=str(tiny_pipeline_folder))


def test_the_saved_pipeline_carries_the_processor(tiny_pipeline_folder):
    saved = json.loads((tiny_pipeline_folder / "processor_config.json").read_text())
    assert saved["labels"] == LABELS and saved["auto_map"]["AutoProcessor"] == "processing_qrtse.QrtseProcessor"
    assert (tiny_pipeline_folder / "processing_qrtse.py").exists()
    assert type(AutoProcessor.from_pretrained(tiny_pipeline_folder)) is QrtseProcessor


def test_cli_query_errors_come_from_the_processor(capsys, tiny_pipeline_folder, tmp_path):
    code, _, err = run_cli(
        capsys, "extract", "--model", tiny_pipeline_folder, "-q", "dog", "--example", "-o", tmp_path / "x.wav"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError) as error:
        QrtseProcessor.from_config(QrtseConfig.from_preset("tiny")).encode_query([["dog"]])
    assert str(error.value) in err


def test_queries_are_parsed_in_the_processor_alone():
    """No module but the processor imports the query encoder, so every caller goes through it."""
    sources = [
        *(ROOT / "modeling_qrtse").glob("*.py"),
        *(ROOT / "training").rglob("*.py"),
        *(ROOT / "hub").glob("*.py"),
        *(ROOT / "spaces").glob("*.py"),
    ]
    importers = [path.name for path in sources if re.search(r"\bquery_qrtse\b", path.read_text())]
    assert importers == ["processing_qrtse.py"]


@pytest.mark.slow
def test_remote_code_where_the_package_cannot_be_imported(tiny_pipeline_folder, tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["modeling_qrtse"] = None  # make the package unimportable
        import numpy as np
        from transformers import AutoProcessor
        processor = AutoProcessor.from_pretrained({str(tiny_pipeline_folder)!r}, trust_remote_code=True)
        assert type(processor).__name__ == "QrtseProcessor", type(processor)
        assert type(processor).__module__.startswith("transformers_modules."), type(processor).__module__
        assert type(processor.feature_extractor).__name__ == "QrtseFeatureExtractor"
        inputs = processor(np.zeros(1600, np.float32), sampling_rate=16000, query=["trumpet", "Bark"])
        assert processor.decode_query(inputs["query"][0]) == ["Bark", "Trumpet"]
        try:
            processor.encode_query(["dog"])
        except ValueError as error:
            assert "Did you mean 'Bark'" in str(error), error
        else:
            raise AssertionError("unknown label accepted")
        print(len(processor.labels))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == str(len(LABELS))

"""The generated model card: Hub metadata, model-index from results.json, classes, usage, licences."""

import pytest
from hub_helpers import fake_results
from huggingface_hub import ModelCard

from modeling_qrtse import QrtseConfig
from qrtse.hub.model_card import model_card, select_system, usage_snippet


@pytest.fixture
def config():
    return QrtseConfig.from_preset("tiny")


def metrics_by_name(card):
    return {result.metric_name: result.metric_value for result in card.data.eval_results}


def test_card_metadata_and_model_index(config, tmp_path):
    results = fake_results(tmp_path / "best")
    card = ModelCard(
        model_card(
            config,
            "user/qrtse-tiny",
            results,
            model_dir=tmp_path / "best",
            build_info={"source": "builtin", "class_names": ["Bark", "Trumpet"]},
            dataset_repo_id="user/qrtse-mixtures",
        )
    )
    assert card.data.pipeline_tag == "audio-to-audio" and card.data.library_name == "transformers"
    assert "target-sound-extraction" in card.data.tags and card.data.datasets == ["user/qrtse-mixtures"]
    assert card.data.license == "other" and card.data.license_link == "LICENSE.md"
    metrics = metrics_by_name(card)
    theta = config.refinement_threshold
    # fake_results: SNRi = 10 + condition index + theta, A_mix = -20 - 100 theta
    assert metrics[f"SNRi [dB], FMQ, 1 active : 0 inactive, theta={theta:.2f}"] == pytest.approx(10 + theta)
    assert metrics[f"SNRi [dB], PMQ, 1 active : 3 inactive, theta={theta:.2f}"] == pytest.approx(12 + theta)
    assert metrics[f"A_mix [dB], FUQ, 0 active : 1 inactive, theta={theta:.2f}"] == pytest.approx(-20 - 100 * theta)
    assert metrics[f"Macro F1 of class presence, theta={theta:.2f}"] == pytest.approx(0.5 + theta)
    assert {r.dataset_type for r in card.data.eval_results} == {"user/qrtse-mixtures"}
    assert {r.dataset_split for r in card.data.eval_results} == {"test"}
    assert "| oracle classes |" in card.text and "| none (theta = 0) |" in card.text


def test_card_lists_classes_usage_and_licences(config):
    card = ModelCard(model_card(config, "user/qrtse-tiny", build_info={"source": "fsd-tau"}))
    assert f"## Classes ({config.num_labels})" in card.text
    assert all(f"`{label}`" in card.text for label in config.id2label.values())
    assert 'pipeline(model="user/qrtse-tiny", trust_remote_code=True)' in card.text
    assert "non-commercial" in card.text and "TAU" in card.text
    assert "not been evaluated" in card.text and card.data.eval_results is None


def test_builtin_corpus_notes_name_the_gpl_soundfont(config):
    text = model_card(config, "user/m", build_info={"source": "builtin"})
    assert "TimGM6mb" in text and "GPL-2" in text


def test_system_selection(tmp_path):
    results = fake_results(tmp_path / "best")
    assert select_system(results, tmp_path / "best") == "proposed"
    assert select_system(results, tmp_path / "elsewhere") == "proposed"  # by name
    assert select_system(results, system="baseline1") == "baseline1"
    del results["systems"]["proposed"]
    results["systems"]["baseline2"] = results["systems"]["baseline1"]
    with pytest.raises(ValueError, match="--system"):
        select_system(results)
    with pytest.raises(ValueError, match="not in the results"):
        select_system(results, system="proposed")


def test_usage_snippet_queries_known_classes():
    assert "query=['Trumpet', 'Bark']" in usage_snippet("u/m", ["Bark", "Trumpet", "Meow"], 0.1)
    assert "query=['beep', 'bell']" in usage_snippet("u/m", ["beep", "bell", "hum"], 0.1)

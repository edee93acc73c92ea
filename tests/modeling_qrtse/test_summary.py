import json

import pytest

from modeling_qrtse.cli import main


def test_paper_summary_matches_table_1(capsys):
    assert main(["summary", "--preset", "paper", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["parameters_without_classifier"] / 1e6 == pytest.approx(13.06, rel=0.005)
    assert summary["parameters_with_classifier"] / 1e6 == pytest.approx(13.67, rel=0.005)
    assert summary["gmacs_per_second_without_classifier"] == pytest.approx(5.19, rel=0.03)
    assert summary["gmacs_per_second_with_classifier"] == pytest.approx(5.43, rel=0.03)


def test_small_preset_fits_the_cpu_budget(capsys):
    assert main(["summary", "--preset", "small", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["gmacs_per_second_with_classifier"] <= 1.5


def test_text_summary_of_a_saved_model(tiny_model, tmp_path, capsys):
    tiny_model.save_pretrained(tmp_path)
    assert main(["summary", "--model", str(tmp_path)]) == 0
    assert "GMAC/s with classifier" in capsys.readouterr().out


@pytest.mark.parametrize(("preset", "latency_ms"), [("small-causal", 10.0), ("paper-causal", 5.0)])
def test_causal_summary_reports_the_latency(preset, latency_ms, capsys):
    assert main(["summary", "--preset", preset, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["causal"] is True
    assert summary["algorithmic_latency_ms"] == pytest.approx(latency_ms)
    offline = preset.removesuffix("-causal")
    assert main(["summary", "--preset", offline, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["algorithmic_latency_ms"] is None

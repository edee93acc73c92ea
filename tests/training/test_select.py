import pytest

from qrtse.training import (
    select,
    select_class_thresholds,
    select_frame_smoothing,
    select_online_refinement,
    select_threshold,
)


@pytest.mark.parametrize(
    "subcommand, module",
    [
        ("threshold", select_threshold),
        ("class-thresholds", select_class_thresholds),
        ("frame-smoothing", select_frame_smoothing),
        ("online-refinement", select_online_refinement),
    ],
)
def test_each_subcommand_runs_its_module_main_on_the_rest(monkeypatch, subcommand, module):
    calls = []
    monkeypatch.setattr(module, "main", lambda argv, prog: calls.append((argv, prog)) or "chosen")
    assert select.main([subcommand, "results.json", "--model", "m"]) == "chosen"
    assert calls == [(["results.json", "--model", "m"], f"python -m qrtse.training.select {subcommand}")]


def test_subcommand_help_is_the_module_s_own(capsys):
    with pytest.raises(SystemExit) as exit_info:
        select.main(["threshold", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: python -m qrtse.training.select threshold")
    assert "--criterion" in help_text


@pytest.mark.parametrize("argv", [[], ["thresholds"], ["--model", "m"]])
def test_a_missing_or_unknown_subcommand_is_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        select.main(argv)
    assert exit_info.value.code == 2
    assert "threshold" in capsys.readouterr().err  # the error lists the choices

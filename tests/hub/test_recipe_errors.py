"""The Hub recipes' bad arguments are `error: <one line>` with status 2, before anything is staged."""

import json

import pytest

from qrtse.hub import push_dataset, push_model


def one_line_error(capsys, main, argv) -> str:
    assert main(argv) == 2
    stderr = capsys.readouterr().err
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    return stderr


@pytest.mark.parametrize("problem", ["missing model", "foreign model", "bad results", "non-empty output"])
def test_push_model_refuses_before_staging(capsys, tmp_path, tiny_checkpoint, problem):
    model, results, staged = tiny_checkpoint / "best", None, tmp_path / "staged"
    if problem == "missing model":
        model = tmp_path / "no_such_model"
    elif problem == "foreign model":
        model = tmp_path / "foreign"
        model.mkdir()
        (model / "config.json").write_text(json.dumps({"model_type": "bert"}))
    elif problem == "bad results":
        results = tmp_path / "results.json"
        results.write_text("{ not json")
    else:
        staged.mkdir()
        (staged / "keep.txt").write_text("mine")
    argv = ["--model", str(model), "--repo-id", "user/x", "--output-dir", str(staged)]
    stderr = one_line_error(capsys, push_model.main, argv + (["--results", str(results)] if results else []))
    assert stderr.startswith("qrtse.hub.push_model: error: ")
    assert not staged.exists() or [p.name for p in staged.iterdir()] == (
        ["keep.txt"] if problem == "non-empty output" else []
    )


def test_push_dataset_refuses_a_folder_that_is_not_a_build(capsys, tmp_path):
    stderr = one_line_error(capsys, push_dataset.main, ["--build", str(tmp_path), "--repo-id", "user/x"])
    assert "not an output folder of qrtse.training.build_dataset" in stderr

import json

import pytest

from benchmarks import training

KEYS = (
    "eager_step_s",
    "fast_step_s",
    "asteroid_step_s",
    "speedup_vs_eager",
    "speedup_vs_asteroid",
    "gemm_fraction",
    "loader_fraction",
)


@pytest.mark.slow
def test_quick_training_benchmark_writes_every_figure(tmp_path, capsys):
    output = tmp_path / "training.json"
    arguments = ["--quick", "--threads", "1", "--sections", "steps", "--data-dir", str(tmp_path / "none")]
    assert training.main([*arguments, "--json", str(output)]) == 0
    assert "| tiny | 8 x 1 s |" in capsys.readouterr().out
    row = json.loads(output.read_text())["presets"]["tiny"]
    for key in KEYS:
        assert row[key] is not None and row[key] > 0, key
    assert row["speedup_vs_eager"] == pytest.approx(row["eager_step_s"] / row["fast_step_s"])
    assert 0 < row["loader_fraction"] < 1

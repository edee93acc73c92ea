import json

import pytest

from benchmarks import inference
from benchmarks.contenders import asteroid_kwargs
from benchmarks.timing import interleaved_medians
from modeling_qrtse import QrtseConfig


def test_interleaved_medians_runs_contenders_in_turn():
    order = []
    medians = interleaved_medians({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=3)
    assert order == ["a", "b"] + ["a", "b"] * 3  # one warm-up each, then interleaved rounds
    assert set(medians) == {"a", "b"}


def test_asteroid_convtasnet_has_our_total_blocks():
    config = QrtseConfig.from_preset("paper")
    kwargs = asteroid_kwargs(config)
    assert kwargs["n_blocks"] * kwargs["n_repeats"] == 32
    assert (kwargs["kernel_size"], kwargs["stride"], kwargs["hid_chan"]) == (80, 40, 512)


@pytest.mark.slow
def test_quick_benchmark_runs_every_section(tmp_path, capsys):
    output = tmp_path / "results.json"
    assert inference.main(["--quick", "--threads", "1", "--json", str(output)]) == 0
    printed = capsys.readouterr().out
    for text in ("| tiny | 1 | optimised |", "refinement overhead", "K=4", "peak RSS", "time ratio"):
        assert text in printed
    results = json.loads(output.read_text())
    optimised = [row for row in results["rtf"] if row["contender"] == "optimised"]
    assert all(row["max_abs_diff_vs_eager"] < 1e-4 for row in optimised)

import pytest

from benchmarks import mixing


@pytest.mark.slow
def test_mixing_benchmark_runs(capsys):
    mixing.main(
        [
            "--clips-per-class",
            "1",
            "--backgrounds",
            "1",
            "--mixtures",
            "4",
            "--batch-size",
            "1",
            "--segment-seconds",
            "0.5",
            "--steps",
            "1",
        ]
    )
    printed = capsys.readouterr().out
    for line in ("built-in corpus:", "builder:", "dynamic mixing:", "training step (small preset", "(goal >= 20x)"):
        assert line in printed

import json

import pytest

from benchmarks import bf16_gradient_sensitivity
from modeling_qrtse.kernels.gemm import native_bf16_available


@pytest.mark.skipif(not native_bf16_available(), reason="this CPU has no native bf16 (AVX512-BF16/AMX)")
def test_sensitivity_benchmark_compares_every_contender_with_float32(tmp_path, capsys):
    bf16_gradient_sensitivity.main(["--presets", "tiny", "--json", str(tmp_path / "sensitivity.json")])
    results = json.loads((tmp_path / "sensitivity.json").read_text())["results"]
    assert set(results) == {"random tiny", "shipped, example 1"}
    for rows in results.values():
        assert set(rows) == {
            "bf16-fused",
            "bf16-autocast",
            "float32-input-in-bf16",
            "float32-eager",
            "float32-other-batch",
        }
        assert rows["float32-eager"]["whole"] >= 0.9999  # the same math in another order
        assert rows["float32-input-in-bf16"]["lowest"] < 1.0  # one rounding already shows
        assert rows["bf16-fused"]["whole"] >= 0.998
        assert rows["float32-other-batch"]["whole"] < rows["bf16-fused"]["whole"]
        assert all(0 <= row["under_bound"] <= row["tensors"] for row in rows.values())
    assert "| random tiny | bf16-fused |" in capsys.readouterr().out

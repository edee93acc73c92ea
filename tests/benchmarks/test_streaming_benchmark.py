import json

from benchmarks import streaming


def test_quick_streaming_benchmark_reports_every_path_and_chunk(tmp_path, capsys):
    streaming.main(["--quick", "--seconds", "1", "--json", str(tmp_path / "streaming.json")])
    rows = json.loads((tmp_path / "streaming.json").read_text())["rows"]
    assert {(row["path"], row["chunk_ms"]) for row in rows} == {
        (path, chunk) for path in ("eager", "optimised", "onnx") for chunk in (10.0, 20.0)
    }
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        assert row["real_time_factor"] > 0 and 0 <= row["late_share"] <= 1
        assert row["buffering_latency_ms"] == row["chunk_ms"]
        assert (row["offline_real_time_factor"] is None) == (row["path"] == "onnx")  # the step graph streams only
    out = capsys.readouterr().out
    assert "| tiny | optimised | 10 ms |" in out and "| tiny | onnx | 20 ms |" in out

"""Streaming speed of the causal models (issue 31), measured side by side in one run.

    python -m benchmarks.streaming                   # small-causal and paper-causal, 1 thread
    python -m benchmarks.streaming --quick           # the tiny preset, a smoke run (seconds)
    python -m benchmarks.streaming --json results/benchmarks/streaming.json

For each preset and chunk size (10 and 20 ms) the same audio is streamed through
`QrtseStreamer` on the eager model and on `optimize_for_inference()`'s model, and through the
exported ONNX streaming step (`onnx_streaming.OnnxStreamer`, one step per chunk; with
onnxruntime installed), and run offline (one forward over the whole clip) on the two PyTorch
models: compute time per chunk (mean, p50, p99, after a
warm-up), the real-time factor (compute seconds per second of audio), the share of chunks that
took longer than real time, and the latency a listener hears: algorithmic (one encoder window)
+ buffering (one chunk), to which the chunk's compute time adds. Weights are random: the time
does not depend on them. Absolute times on a shared machine mean little; the ratios within one
run are what to compare.
"""

import argparse
import importlib.util
import json
import platform
import time

import numpy as np
import torch

from benchmarks.timing import load_average
from modeling_qrtse.configuration_qrtse import QrtseConfig
from modeling_qrtse.modeling_qrtse import QrtseModel

WARM_UP_CHUNKS = 20
# Waveformer (Veluri et al., ICASSP 2023), its paper's Table 1 and Section 4: for reference only,
# measured on other hardware (one Intel Core i5 thread).
WAVEFORMER = {"chunk_ms": 8.0, "latency_ms": "under 20", "real_time_factor": "0.66-0.94", "threads": 1}


THRESHOLD = 0.5


def stream_times(streamer, waveform, chunk_samples: int) -> np.ndarray:
    """Compute seconds of each `streamer.process` call streaming `waveform` `(1, time)` (a tensor
    for `QrtseStreamer`, an array for `OnnxStreamer`)."""
    times = []
    for start in range(0, waveform.shape[-1] - chunk_samples + 1, chunk_samples):
        chunk = waveform[:, start : start + chunk_samples]
        began = time.perf_counter()
        streamer.process(chunk)
        times.append(time.perf_counter() - began)
    streamer.flush()
    return np.asarray(times[WARM_UP_CHUNKS:])


def onnx_streamer(model, chunk_samples: int, num_threads: int):
    """The exported streaming step of `model` run by ONNX Runtime, one step per chunk; None
    without onnxruntime or when a chunk is not a whole number of hops."""
    if importlib.util.find_spec("onnxruntime") is None or chunk_samples % model.config.hop_samples:
        return None
    from modeling_qrtse.onnx_streaming import OnnxStreamer, export_streaming_onnx

    graph = export_streaming_onnx(model, frames_per_step=chunk_samples // model.config.hop_samples, threshold=THRESHOLD)
    query = np.zeros(model.config.num_labels, dtype=np.float32)
    query[0] = 1.0
    return OnnxStreamer(graph, query, threads=num_threads)


def offline_seconds(model, waveform: torch.Tensor, repeats: int = 3) -> float:
    query = torch.zeros(1, model.config.num_labels)
    query[0, 0] = 1.0
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats):
            began = time.perf_counter()
            model(waveform, query, threshold=0.5)
            best = min(best, time.perf_counter() - began)
    return best


def measure(preset: str, seconds: float, chunk_ms: list, num_threads: int = 1) -> list:
    config = QrtseConfig.from_preset(preset, causal=True)
    torch.manual_seed(0)
    eager = QrtseModel(config).eval()
    paths = {"eager": eager, "optimised": eager.optimize_for_inference(), "onnx": eager}
    waveform = 0.1 * torch.randn(1, round(seconds * config.sampling_rate), generator=torch.Generator().manual_seed(0))
    rows = []
    for name, model in paths.items():
        offline = None if name == "onnx" else offline_seconds(model, waveform)  # the step graph streams only
        for milliseconds in chunk_ms:
            chunk_samples = round(milliseconds * config.sampling_rate / 1000)
            if name == "onnx":
                streamer = onnx_streamer(model, chunk_samples, num_threads)
                if streamer is None:
                    continue
                times = stream_times(streamer, waveform.numpy(), chunk_samples)
            else:
                streamer = model.streamer([config.id2label[0]], threshold=THRESHOLD)
                times = stream_times(streamer, waveform, chunk_samples)
            chunk_s = chunk_samples / config.sampling_rate
            rows.append(
                {
                    "preset": preset,
                    "path": name,
                    "chunk_ms": milliseconds,
                    "mean_ms": 1000 * times.mean(),
                    "p50_ms": 1000 * float(np.median(times)),
                    "p99_ms": 1000 * float(np.percentile(times, 99)),
                    "real_time_factor": times.mean() / chunk_s,
                    "late_share": float(np.mean(times > chunk_s)),
                    "algorithmic_latency_ms": 1000 * config.algorithmic_latency_s,
                    "buffering_latency_ms": 1000 * chunk_s,
                    "offline_real_time_factor": None if offline is None else offline / seconds,
                }
            )
    return rows


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown(rows: list) -> str:
    lines = [
        "| preset | path | chunk | mean | p50 | p99 | RTF | late | latency (alg. + buf.) | offline RTF |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['preset']} | {row['path']} | {row['chunk_ms']:g} ms | {row['mean_ms']:.2f} ms | "
            f"{row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms | {row['real_time_factor']:.3f} | "
            f"{100 * row['late_share']:.1f}% | {row['algorithmic_latency_ms']:g} + {row['buffering_latency_ms']:g} ms | "
            f"{_ratio(row['offline_real_time_factor'])} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["small", "paper"], help="presets (their causal form)")
    parser.add_argument("--chunk-ms", nargs="+", type=float, default=[10.0, 20.0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio streamed per measurement")
    parser.add_argument("--num-threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny preset, 2 s: a smoke run")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.presets, args.seconds = ["tiny"], 2.0
    torch.set_num_threads(args.num_threads)
    rows = [row for preset in args.presets for row in measure(preset, args.seconds, args.chunk_ms, args.num_threads)]
    print(markdown(rows))
    if args.json:
        result = {
            "rows": rows,
            "waveformer_reference": WAVEFORMER,
            "num_threads": args.num_threads,
            "seconds": args.seconds,
            "machine": platform.processor() or platform.machine(),
            "load_average": load_average(),
            "torch": torch.__version__,
        }
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()

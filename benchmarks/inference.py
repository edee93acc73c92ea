"""Inference speed of qrtse, measured side by side in one run.

    python -m benchmarks.inference                       # paper + small presets, 2 threads (~5 min)
    python -m benchmarks.inference --quick               # tiny sizes, a smoke run (seconds)
    python -m benchmarks.inference --sections rtf --presets paper --json results.json

Sections (each prints a markdown table):

- `rtf`: real-time factor (compute seconds per second of audio) of a 6 s clip at batch 1 and 8
  for our eager reference (`torch.no_grad`), asteroid's ConvTasNet at equal size, our optimised
  path (`QrtseModel.optimize_for_inference`, `torch.inference_mode`), the same with its TCNs in
  ONNX Runtime (`onnxruntime_tcn=True`), the same with its GEMMs on MKL (`onednn_gemm=False`),
  the same with bf16 GEMMs (`optimised-bf16`, `dtype=torch.bfloat16`; CPUs with native bf16 only)
  and the ONNX Runtime export of the whole model, plus square fp32 GEMM probes in PyTorch (MKL),
  oneDNN and ONNX Runtime (MLAS) and a bf16 oneDNN probe, all interleaved (A B C D E A B C D E
  ...); achieved GFLOP/s (FlopCounterMode FLOPs / median time) as a fraction of the best fp32 GEMM
  rate and of the bf16 GEMM rate of the same rounds.
- `refinement`: optimised path with theta vs theta = 0 (both run the classifier) vs a model of
  the same size without classifier.
- `queries`: K = 1, 2, 4 queries on one mixture (3-D query: trunk and classifier once).
- `long`: 1 and 10 minutes through the pipeline (30 s chunks, refinement per file), each in a
  fresh process for its peak RSS.

Absolute times on a shared machine mean little; the ratios within a table are what to compare.
"""

import argparse
import functools
import json
import platform
import sys
import time

import numpy as np
import torch

from benchmarks.contenders import asteroid_convtasnet, flops_per_second, our_flops_per_second, our_model
from benchmarks.long_audio import run_in_subprocess
from benchmarks.timing import (
    GemmProbe,
    OneDnnBf16GemmProbe,
    OneDnnGemmProbe,
    OnnxRuntimeGemmProbe,
    interleaved_medians,
    load_average,
)
from modeling_qrtse.kernels.gemm import native_bf16_available, onednn_linear_available
from modeling_qrtse.summary import count_parameters

SECTIONS = ("rtf", "refinement", "queries", "long")
BF16_PROBE = "gemm-onednn-bf16"  # the bf16 probe's name among the rtf section's GEMM probes


def clip(config, batch: int, seconds: float, queries: int | None = None):
    """Noise mixtures `(batch, time)` and a query naming class k for query set k."""
    generator = torch.Generator().manual_seed(0)
    waveform = torch.randn(batch, int(seconds * config.sampling_rate), generator=generator) * 0.1
    count = queries or 1
    query = torch.zeros(batch, count, config.num_labels)
    for k in range(count):
        query[:, k, k % config.num_labels] = 1
    return waveform, query if queries else query[:, 0]


def runner(network, context, *args, **kwargs):
    """A no-argument call of `network(*args, **kwargs)` under `context` (no_grad / inference_mode)."""

    def run():
        with context():
            network(*args, **kwargs)

    return run


def rtf_section(preset: str, batches, seconds: float, repeats: int, threads: int, gemms: dict) -> list:
    """One row per (batch, contender). `gemms`: the GEMM probes, fp32 ones and `BF16_PROBE` (where
    the CPU has native bf16; then `optimised-bf16` runs too)."""
    from modeling_qrtse.onnx_export import export_onnx, onnx_session

    eager = our_model(preset)
    config, theta = eager.config, eager.config.refinement_threshold
    fast = eager.optimize_for_inference()
    fast_mkl = eager.optimize_for_inference(onednn_gemm=False)
    fast_ort = eager.optimize_for_inference(onnxruntime_tcn=True)
    fast_bf16 = eager.optimize_for_inference(dtype=torch.bfloat16) if BF16_PROBE in gemms else None
    start = time.perf_counter()
    session = onnx_session(export_onnx(eager, threshold=theta), threads=threads)
    export_s = time.perf_counter() - start
    asteroid, reason = asteroid_convtasnet(config)
    if asteroid is None:
        print(f"[{preset}] asteroid skipped: {reason}")
    flops = {"eager": our_flops_per_second(eager)}
    for name in ("optimised", "optimised-mkl-gemm", "optimised+ort-tcn", "optimised-bf16", "onnxruntime"):
        flops[name] = flops["eager"]
    if asteroid is not None:
        flops["asteroid"] = flops_per_second(asteroid, config.sampling_rate)
    print(
        f"[{preset}] parameters: ours {count_parameters(eager) / 1e6:.2f} M"
        + (f", asteroid ConvTasNet {count_parameters(asteroid) / 1e6:.2f} M" if asteroid is not None else "")
        + f"; ONNX export {export_s:.1f} s"
    )
    rows = []
    for batch in batches:
        waveform, query = clip(config, batch, seconds)
        feeds = {"input_values": waveform.numpy(), "query": query.numpy()}
        with torch.inference_mode():
            reference = eager(waveform, query, threshold=theta).extracted_values
            parity_fast = (fast(waveform, query, threshold=theta).extracted_values - reference).abs().max().item()
            parity_mkl = (fast_mkl(waveform, query, threshold=theta).extracted_values - reference).abs().max().item()
            parity_ort = (fast_ort(waveform, query, threshold=theta).extracted_values - reference).abs().max().item()
            parity_bf16 = None
            if fast_bf16 is not None:
                parity_bf16 = (fast_bf16(waveform, query, threshold=theta).extracted_values - reference).abs().max()
                parity_bf16 = parity_bf16.item()
        parity_onnx = float(np.abs(session.run(None, feeds)[0] - reference.numpy()).max())

        contenders = {
            "eager": runner(eager, torch.no_grad, waveform, query, threshold=theta),
            "optimised": runner(fast, torch.inference_mode, waveform, query, threshold=theta),
            "optimised-mkl-gemm": runner(fast_mkl, torch.inference_mode, waveform, query, threshold=theta),
            "optimised+ort-tcn": runner(fast_ort, torch.inference_mode, waveform, query, threshold=theta),
            "onnxruntime": functools.partial(session.run, None, feeds),
        }
        if fast_bf16 is not None:
            contenders["optimised-bf16"] = runner(fast_bf16, torch.inference_mode, waveform, query, threshold=theta)
        if asteroid is not None:
            contenders["asteroid"] = runner(asteroid, torch.no_grad, waveform)
        contenders.update(gemms)
        load = load_average()
        medians = interleaved_medians(contenders, repeats)
        gemm_rates = {name: probe.flops / medians.pop(name) for name, probe in gemms.items()}
        gemm_rate = max(rate for name, rate in gemm_rates.items() if name != BF16_PROBE)
        bf16_rate = gemm_rates.get(BF16_PROBE)
        audio_s = batch * seconds
        for name, median in medians.items():
            achieved = flops[name] * audio_s / median
            rows.append(
                {
                    "preset": preset,
                    "batch": batch,
                    "contender": name,
                    "rtf": median / audio_s,
                    "speedup_vs_eager": medians["eager"] / median,
                    "speedup_vs_asteroid": medians["asteroid"] / median if "asteroid" in medians else None,
                    "gflops": achieved / 1e9,
                    "gemm_gflops": gemm_rate / 1e9,
                    "gemm_gflops_by_library": {name: rate / 1e9 for name, rate in gemm_rates.items()},
                    "fraction_of_gemm": achieved / gemm_rate,
                    "gemm_bf16_gflops": None if bf16_rate is None else bf16_rate / 1e9,
                    "fraction_of_bf16_gemm": None if bf16_rate is None else achieved / bf16_rate,
                    "max_abs_diff_vs_eager": {
                        "optimised": parity_fast,
                        "optimised-mkl-gemm": parity_mkl,
                        "optimised+ort-tcn": parity_ort,
                        "optimised-bf16": parity_bf16,
                        "onnxruntime": parity_onnx,
                    }.get(name),
                    "load": load,
                }
            )
    return rows


def refinement_section(preset: str, seconds: float, repeats: int) -> dict:
    """Optimised path, batch 1: theta vs theta = 0 vs no classifier."""
    model = our_model(preset).optimize_for_inference()
    without_classifier = our_model(preset, use_classifier=False).optimize_for_inference()
    theta = model.config.refinement_threshold
    waveform, query = clip(model.config, 1, seconds)

    medians = interleaved_medians(
        {
            "refined": runner(model, torch.inference_mode, waveform, query, threshold=theta),
            "unrefined": runner(model, torch.inference_mode, waveform, query, threshold=0.0),
            "no_classifier": runner(without_classifier, torch.inference_mode, waveform, query, threshold=0.0),
        },
        repeats,
    )
    return {
        "preset": preset,
        "theta": theta,
        **{f"rtf_{name}": value / seconds for name, value in medians.items()},
        "refinement_overhead": medians["refined"] / medians["unrefined"] - 1,
        "classifier_overhead": medians["unrefined"] / medians["no_classifier"] - 1,
        "load": load_average(),
    }


def queries_section(preset: str, seconds: float, repeats: int, counts=(1, 2, 4)) -> dict:
    """Optimised path, one mixture, K query sets in one call (trunk once)."""
    model = our_model(preset).optimize_for_inference()
    theta = model.config.refinement_threshold
    contenders = {}
    for count in counts:
        waveform, query = clip(model.config, 1, seconds, queries=count)
        contenders[count] = runner(model, torch.inference_mode, waveform, query, threshold=theta)
    medians = interleaved_medians(contenders, repeats)
    return {
        "preset": preset,
        "rtf_k1": medians[counts[0]] / seconds,
        "relative_cost": {count: medians[count] / medians[counts[0]] for count in counts},
        "goal": {count: 0.3 + 0.7 * count for count in counts},
        "load": load_average(),
    }


def long_section(preset: str, durations, threads: int) -> dict:
    runs = [run_in_subprocess(preset, seconds, threads, optimized=True) for seconds in durations]
    for run in runs:
        run["load"] = load_average()
    return {"preset": preset, "runs": runs, "time_ratio": runs[-1]["wall_s"] / runs[0]["wall_s"]}


def format_rtf(rows: list) -> str:
    lines = [
        (
            "| preset | batch | contender | RTF | x eager | x asteroid | GFLOP/s | % of fp32 GEMM | % of bf16 GEMM "
            "| max diff | load |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        versus_asteroid = "" if row["speedup_vs_asteroid"] is None else f"{row['speedup_vs_asteroid']:.2f}"
        difference = "" if row["max_abs_diff_vs_eager"] is None else f"{row['max_abs_diff_vs_eager']:.1e}"
        bf16 = row.get("fraction_of_bf16_gemm")
        bf16 = "-" if bf16 is None else f"{100 * bf16:.0f}% of {row['gemm_bf16_gflops']:.0f}"
        lines.append(
            f"| {row['preset']} | {row['batch']} | {row['contender']} | {row['rtf']:.4f} | "
            f"{row['speedup_vs_eager']:.2f} | {versus_asteroid} | {row['gflops']:.1f} | "
            f"{100 * row['fraction_of_gemm']:.0f}% of {row['gemm_gflops']:.0f} | {bf16} | {difference} "
            f"| {row['load']:.2f} |"
        )
    return "\n".join(lines)


def format_refinement(result: dict) -> str:
    return (
        f"[{result['preset']}] RTF with refinement (theta={result['theta']}) {result['rtf_refined']:.4f}, "
        f"theta=0 {result['rtf_unrefined']:.4f}, no classifier {result['rtf_no_classifier']:.4f}: refinement "
        f"overhead {100 * result['refinement_overhead']:+.1f}% (goal <= 5%), classifier "
        f"{100 * result['classifier_overhead']:+.1f}% (load {result['load']:.2f})"
    )


def format_queries(result: dict) -> str:
    parts = [
        f"K={count}: {cost:.2f}x (goal <= {result['goal'][count]:.1f}x)"
        for count, cost in result["relative_cost"].items()
    ]
    return f"[{result['preset']}] K queries vs one (RTF {result['rtf_k1']:.4f}): " + ", ".join(parts)


def format_long(result: dict) -> str:
    lines = []
    for run in result["runs"]:
        lines.append(
            f"[{result['preset']}] {run['seconds'] / 60:.1f} min through the pipeline: {run['wall_s']:.1f} s "
            f"(RTF {run['rtf']:.4f}), peak RSS {run['peak_rss_bytes'] / 2**30:.2f} GiB "
            f"(before the call {run['rss_before_bytes'] / 2**30:.2f} GiB; goal < 1.5 GB), load {run['load']:.2f}"
        )
    first, last = result["runs"][0]["seconds"], result["runs"][-1]["seconds"]
    goal = 1.1 * last / first
    lines.append(
        f"[{result['preset']}] time ratio {result['time_ratio']:.2f}x for {last / first:.0f}x the audio (goal <= {goal:.0f}x)"
    )
    return "\n".join(lines)


def machine() -> str:
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, torch {torch.__version__}"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", help="QrtseConfig presets (default: paper small; tiny with --quick)")
    parser.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime intra-op threads")
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes of the rtf section (default: 1 8)")
    parser.add_argument("--seconds", type=float, help="clip length (default: 6)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per measurement (default: 5)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--long-preset", help="preset of the long-audio section (default: the first preset)")
    parser.add_argument("--long-seconds", type=float, nargs=2, help="the two long durations (default: 60 600)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    parser.add_argument("--json", help="also write all results to this JSON file")
    args = parser.parse_args(argv)
    defaults = {
        "presets": ["tiny"] if args.quick else ["paper", "small"],
        "batches": [1, 2] if args.quick else [1, 8],
        "seconds": 1.0 if args.quick else 6.0,
        "repeats": 2 if args.quick else 5,
        "long_seconds": [3.0, 30.0] if args.quick else [60.0, 600.0],
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.long_preset = args.long_preset or args.presets[0]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# qrtse inference benchmark: {machine()}, {args.threads} threads, load {load_average():.2f}")
    print(f"# command: python -m benchmarks.inference {' '.join(sys.argv[1:] if argv is None else argv)}")
    results = {"machine": machine(), "threads": args.threads, "load_start": load_average()}
    if "rtf" in args.sections:
        size = 512 if args.quick else 2048
        gemms = {
            "gemm-torch": GemmProbe(size=size),
            "gemm-onnxruntime": OnnxRuntimeGemmProbe(size, threads=args.threads),
        }
        if onednn_linear_available():
            gemms["gemm-onednn"] = OneDnnGemmProbe(size=size)
        if native_bf16_available():
            gemms[BF16_PROBE] = OneDnnBf16GemmProbe(size=size)
        else:
            print("# this CPU has no native bf16: no optimised-bf16 row")
        rows = [
            row
            for preset in args.presets
            for row in rtf_section(preset, args.batches, args.seconds, args.repeats, args.threads, gemms)
        ]
        for name in gemms:
            rates = [row["gemm_gflops_by_library"][name] for row in rows if row["contender"] == "eager"]
            kind = "bf16" if name == BF16_PROBE else "fp32"
            print(f"# {kind} GEMM {name}: {', '.join(f'{rate:.0f}' for rate in rates)} GFLOP/s (per batch group)")
        results["rtf"] = rows
        print(format_rtf(rows), flush=True)
    for name, section, formatter in (
        ("refinement", refinement_section, format_refinement),
        ("queries", queries_section, format_queries),
    ):
        if name in args.sections:
            results[name] = [section(preset, args.seconds, args.repeats) for preset in args.presets]
            print("\n".join(formatter(result) for result in results[name]), flush=True)
    if "long" in args.sections:
        results["long"] = long_section(args.long_preset, args.long_seconds, args.threads)
        print(format_long(results["long"]), flush=True)
    results["load_end"] = load_average()
    print(f"# load at the end: {results['load_end']:.2f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

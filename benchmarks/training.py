"""Training speed of qrtse on CPU, measured side by side in one run.

    python -m benchmarks.training                          # small + paper presets, 2 threads (~8 min)
    python -m benchmarks.training --quick                  # tiny sizes, a smoke run (seconds)
    python -m benchmarks.training --presets small --json results/benchmarks/training.json

For each preset (small: batch 8, 3 s crops; paper: batch 8, 6 s crops), interleaved rounds
(A B C D E A B C D E ...) summarised by medians time one optimizer step (forward, backward,
gradient clipping, Adam) of:

- `eager`: the reference modules (`qrtse.training.train --reference_path`);
- `fast`: `QrtseModel.optimize_for_training()`, what `qrtse.training.train` runs on CPU by default;
- `fast-bf16`: `optimize_for_training(dtype=torch.bfloat16)`, mixed precision (bf16 GEMMs, float32
  elsewhere; `qrtse.training.train --mixed_precision bf16` on CPU), on CPUs with native bf16 only;
- `fast-no-classifier`: the same without the classifier (Baseline 1's architecture), the exact
  equal-size peer of asteroid's ConvTasNet;
- `asteroid`: asteroid's ConvTasNet at equal size (our model minus classifier and query), same
  batch, same crop, the same thresholded-SNR loss;
- `compiled` (with `--compile`): `torch.compile` (inductor) of the eager model, compiled before the
  rounds (its compile time is reported, not timed as a step);
- `loader`: one batch of the real training data path (dynamic mixing + crop + queries);
- a oneDNN fp32 GEMM probe (square 2048 products), the machine's GEMM rate in the same rounds,
  and the same product in bf16 (`gemm-bf16`, with `fast-bf16`).

Achieved GFLOP/s = the eager step's forward + backward FLOPs (FlopCounterMode; the fast path
computes the same products) / the fast step's median time; `gemm_fraction` is that over the
fp32 probe's rate, `fast_fraction_of_bf16_probe` over the bf16 probe's; `fast_bf16_gflops` and
its two fractions are the same for `fast-bf16`. `loader_fraction` = loader / (loader + fast step), the share of a training
iteration spent making its batch. The `layout` section compares one training process on 2
threads with two processes on 1 thread each (aggregate steps per second).

Every contender runs with `qrtse.training.cpu_runtime.retain_freed_memory()`, as `qrtse.training.train` does
on CPU for either path (`--default-allocator` leaves glibc's settings alone, to measure its effect).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.contenders import asteroid_convtasnet, our_model
from benchmarks.inference import machine
from benchmarks.timing import GemmProbe, OneDnnBf16GemmProbe, OneDnnGemmProbe, interleaved_medians, load_average
from modeling_qrtse.kernels.gemm import native_bf16_available, onednn_linear_available
from modeling_qrtse.losses_qrtse import extraction_loss
from qrtse.training.cpu_runtime import retain_freed_memory

SECTIONS = ("steps", "layout")
CROP_SECONDS = {"small": 3.0, "paper": 6.0, "tiny": 1.0}
MAX_GRAD_NORM = 5.0  # qrtse.training.train's default


def synthetic_batch(config, batch: int, seconds: float, seed: int = 0) -> dict:
    """Noise mixtures with one queried class and a target: speed does not depend on content."""
    generator = torch.Generator().manual_seed(seed)
    samples = int(seconds * config.sampling_rate)
    query = torch.zeros(batch, config.num_labels)
    query[torch.arange(batch), torch.arange(batch) % config.num_labels] = 1
    return {
        "input_values": torch.randn(batch, samples, generator=generator) * 0.1,
        "target_values": torch.randn(batch, samples, generator=generator) * 0.05,
        "query": query,
        "presence": (torch.rand(batch, config.num_labels, generator=generator) < 0.2).float(),
    }


def our_loss(model, batch: dict) -> torch.Tensor:
    output = model(
        batch["input_values"],
        batch["query"],
        threshold=0.0,
        target_values=batch["target_values"],
        presence_labels=batch["presence"],
    )
    return output.loss


def asteroid_loss(model, batch: dict, snr_max: float) -> torch.Tensor:
    estimate = model(batch["input_values"])[:, 0]
    return extraction_loss(estimate, batch["target_values"], batch["input_values"], snr_max)


def optimizer_step(model, loss_fn):
    """A no-argument training step of `model`: loss, backward, clipping, Adam, zero_grad."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        loss_fn(model).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def step_flops(model, batch: dict) -> float:
    """Forward + backward FLOPs of one training step of the eager reference."""
    with FlopCounterMode(display=False) as counter:
        our_loss(model, batch).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def toy_data_dir(root: Path) -> str:
    """A small build of the built-in corpus, for the loader when no `--data-dir` build exists."""
    from qrtse.training.build_dataset import build, toy_builtin_arguments

    return str(build(*toy_builtin_arguments(root / "data")))


def loader(data_dir: str, batch: int, seconds: float, config):
    """A no-argument call that makes the next training batch exactly as `qrtse.training.train` does."""
    from modeling_qrtse import QrtseProcessor
    from qrtse.training.arguments import DataArguments, TrainArguments
    from qrtse.training.data_loading import training_batches
    from qrtse.training.train import prepare_batch

    data_args = DataArguments(data_dir=data_dir, segment_seconds=seconds)
    train_args = TrainArguments(batch_size=batch, steps_per_epoch=10_000)
    batches = iter(training_batches(data_args, train_args, 0, SimpleNamespace(process_index=0)))
    segment = round(seconds * 16000)
    processor = QrtseProcessor.from_config(config)
    state = {"step": 0}

    def next_batch():
        prepare_batch(next(batches), processor, 0, state["step"], 0, segment, 0.0, torch.device("cpu"))
        state["step"] += 1

    return next_batch


def compiled_step(preset: str, data: dict):
    """`(step, compile seconds)` of `torch.compile` applied to a fresh eager model."""
    model = our_model(preset).train()
    compiled = torch.compile(model)
    step = optimizer_step(model, lambda _: our_loss(compiled, data))
    start = time.perf_counter()
    step()
    return step, time.perf_counter() - start


def steps_section(
    preset: str, batch: int, seconds: float, repeats: int, data_dir: str, probes: dict, compile_: bool = False
) -> dict:
    """`probes`: `{"gemm": fp32 probe}`, plus `"gemm-bf16"` where the CPU has native bf16 (then
    `fast-bf16` runs too)."""
    eager = our_model(preset).train()
    fast = our_model(preset).train().optimize_for_training()
    fast_no_classifier = our_model(preset, use_classifier=False).train().optimize_for_training()
    config = eager.config
    data = synthetic_batch(config, batch, seconds)
    contenders = {
        "eager": optimizer_step(eager, lambda model: our_loss(model, data)),
        "fast": optimizer_step(fast, lambda model: our_loss(model, data)),
        "fast-no-classifier": optimizer_step(fast_no_classifier, lambda model: our_loss(model, data)),
    }
    if "gemm-bf16" in probes:
        fast_bf16 = our_model(preset).train().optimize_for_training(dtype=torch.bfloat16)
        contenders["fast-bf16"] = optimizer_step(fast_bf16, lambda model: our_loss(model, data))
    asteroid, reason = asteroid_convtasnet(config)
    if asteroid is None:
        print(f"[{preset}] asteroid skipped: {reason}")
    else:
        contenders["asteroid"] = optimizer_step(
            asteroid.train(), lambda model: asteroid_loss(model, data, config.snr_max)
        )
    compile_s = None
    if compile_:
        contenders["compiled"], compile_s = compiled_step(preset, data)
    contenders["loader"] = loader(data_dir, batch, seconds, config)
    contenders.update(probes)
    flops = step_flops(eager, data)
    medians = interleaved_medians(contenders, repeats)
    probe_gflops = probes["gemm"].flops / medians["gemm"] / 1e9
    bf16_probe_gflops = probes["gemm-bf16"].flops / medians["gemm-bf16"] / 1e9 if "gemm-bf16" in probes else None
    achieved = flops / medians["fast"] / 1e9
    achieved_bf16 = flops / medians["fast-bf16"] / 1e9 if "fast-bf16" in medians else None

    def fraction(rate, probe_rate):
        return None if rate is None or probe_rate is None else rate / probe_rate

    row = {
        "preset": preset,
        "batch": batch,
        "crop_seconds": seconds,
        "eager_step_s": medians["eager"],
        "fast_step_s": medians["fast"],
        "fast_no_classifier_step_s": medians["fast-no-classifier"],
        "fast_bf16_step_s": medians.get("fast-bf16"),
        "asteroid_step_s": medians.get("asteroid"),
        "compiled_step_s": medians.get("compiled"),
        "compile_s": compile_s,
        "loader_step_s": medians["loader"],
        "speedup_vs_eager": medians["eager"] / medians["fast"],
        "bf16_speedup_vs_fast": medians["fast"] / medians["fast-bf16"] if "fast-bf16" in medians else None,
        "speedup_vs_asteroid": medians["asteroid"] / medians["fast"] if "asteroid" in medians else None,
        "no_classifier_speedup_vs_asteroid": (
            medians["asteroid"] / medians["fast-no-classifier"] if "asteroid" in medians else None
        ),
        "flops_per_step": flops,
        "fast_gflops": achieved,
        "eager_gflops": flops / medians["eager"] / 1e9,
        "gemm_probe_gflops": probe_gflops,
        "gemm_fraction": achieved / probe_gflops,
        "fast_bf16_gflops": achieved_bf16,
        "gemm_bf16_probe_gflops": bf16_probe_gflops,
        "fast_fraction_of_bf16_probe": fraction(achieved, bf16_probe_gflops),
        "fast_bf16_fraction_of_fp32_probe": fraction(achieved_bf16, probe_gflops),
        "fast_bf16_fraction_of_bf16_probe": fraction(achieved_bf16, bf16_probe_gflops),
        "loader_fraction": medians["loader"] / (medians["loader"] + medians["fast"]),
        "load": load_average(),
    }
    print(format_steps([row]), flush=True)
    if compile_s is not None:
        print(f"[{preset}] torch.compile: {compile_s:.0f} s to compile, then {medians['compiled']:.3f} s per step")
    return row


def format_steps(rows: list) -> str:
    lines = [
        (
            "| preset | batch x crop | eager step | fast step | asteroid step | x eager | x asteroid "
            "| fast, no classifier (x asteroid) | fast GFLOP/s | % of GEMM probe | loader | load |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    bf16_lines = [
        (
            "| preset | fast step | fast-bf16 step | x fast | fast GFLOP/s (% of fp32 / bf16 probe) "
            "| fast-bf16 GFLOP/s (% of fp32 / bf16 probe) | probes fp32 / bf16 GFLOP/s |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        asteroid = "-" if row["asteroid_step_s"] is None else f"{row['asteroid_step_s']:.3f} s"
        versus = "-" if row["speedup_vs_asteroid"] is None else f"{row['speedup_vs_asteroid']:.2f}"
        bare = f"{row['fast_no_classifier_step_s']:.3f} s"
        if row["no_classifier_speedup_vs_asteroid"] is not None:
            bare += f" ({row['no_classifier_speedup_vs_asteroid']:.2f})"
        lines.append(
            f"| {row['preset']} | {row['batch']} x {row['crop_seconds']:g} s | {row['eager_step_s']:.3f} s "
            f"| {row['fast_step_s']:.3f} s | {asteroid} | {row['speedup_vs_eager']:.2f} | {versus} "
            f"| {bare} | {row['fast_gflops']:.0f} | {100 * row['gemm_fraction']:.0f}% of {row['gemm_probe_gflops']:.0f} "
            f"| {row['loader_step_s'] * 1e3:.0f} ms ({100 * row['loader_fraction']:.1f}%) | {row['load']:.2f} |"
        )
        if row.get("fast_bf16_step_s") is not None:
            bf16_lines.append(
                f"| {row['preset']} | {row['fast_step_s']:.3f} s | {row['fast_bf16_step_s']:.3f} s "
                f"| {row['bf16_speedup_vs_fast']:.2f} | {row['fast_gflops']:.0f} ({100 * row['gemm_fraction']:.0f}% "
                f"/ {100 * row['fast_fraction_of_bf16_probe']:.0f}%) | {row['fast_bf16_gflops']:.0f} "
                f"({100 * row['fast_bf16_fraction_of_fp32_probe']:.0f}% / {100 * row['fast_bf16_fraction_of_bf16_probe']:.0f}%) "
                f"| {row['gemm_probe_gflops']:.0f} / {row['gemm_bf16_probe_gflops']:.0f} |"
            )
    return "\n".join(lines + ([""] + bf16_lines if len(bf16_lines) > 2 else []))


def layout_worker(preset: str, threads: int, steps: int) -> None:
    """Run in a subprocess: fast training steps on `threads` threads; prints steps per second."""
    torch.set_num_threads(threads)
    retain_freed_memory()
    model = our_model(preset).train().optimize_for_training()
    data = synthetic_batch(model.config, 8, CROP_SECONDS.get(preset, 3.0))
    step = optimizer_step(model, lambda m: our_loss(m, data))
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    print(json.dumps({"steps_per_s": steps / (time.perf_counter() - start)}))


def layout_section(preset: str, steps: int) -> dict:
    """Aggregate fast steps per second: one process on 2 threads vs two processes on 1 thread."""

    def launch(threads: int, count: int) -> float:
        command = [sys.executable, "-m", "benchmarks.training", "--layout-worker", preset, str(threads), str(steps)]
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
        return sum(
            json.loads(process.communicate()[0].strip().splitlines()[-1])["steps_per_s"] for process in processes
        )

    result = {"preset": preset, "one_process_2_threads": launch(2, 1), "two_processes_1_thread": launch(1, 2)}
    result["two_processes_gain"] = result["two_processes_1_thread"] / result["one_process_2_threads"]
    print(
        f"thread layout ({preset}, fast path): one process x 2 threads {result['one_process_2_threads']:.2f} steps/s, "
        f"two processes x 1 thread {result['two_processes_1_thread']:.2f} steps/s in all "
        f"({result['two_processes_gain']:.2f}x)",
        flush=True,
    )
    return result


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", help="QrtseConfig presets (default: small paper; tiny with --quick)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--batch", type=int, default=8, help="training batch size (default: 8, the paper's)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default: 7; 2 with --quick)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--data-dir",
        default="data/builtin",
        help="qrtse.training.build_dataset output for the loader "
        "(a toy built-in corpus is built in a temporary folder when it does not exist)",
    )
    parser.add_argument("--layout-steps", type=int, help="steps per process in the layout section (default: 20)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of the eager model")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc settings alone (to measure what retain_freed_memory gives)",
    )
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--layout-worker", nargs=3, metavar=("PRESET", "THREADS", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.presets = args.presets or (["tiny"] if args.quick else ["small", "paper"])
    args.repeats = args.repeats or (2 if args.quick else 7)
    args.layout_steps = args.layout_steps or (3 if args.quick else 20)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.layout_worker:
        preset, threads, steps = args.layout_worker
        layout_worker(preset, int(threads), int(steps))
        return 0
    torch.set_num_threads(args.threads)
    allocator = "glibc defaults" if args.default_allocator else "retain_freed_memory"
    if not args.default_allocator:
        retain_freed_memory()
    print(
        f"# qrtse training benchmark: {machine()}, {args.threads} threads, allocator: {allocator}, "
        f"load {load_average():.2f}"
    )
    print(f"# command: python -m benchmarks.training {' '.join(sys.argv[1:] if argv is None else argv)}")
    results = {
        "machine": machine(),
        "threads": args.threads,
        "allocator": allocator,
        "load_start": load_average(),
        "presets": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir
        if not Path(data_dir, "clips").is_dir():
            print(f"# {data_dir} has no build: timing the loader on a toy built-in corpus")
            data_dir = toy_data_dir(Path(scratch))
        if "steps" in args.sections:
            size = 512 if args.quick else 2048
            probes = {"gemm": OneDnnGemmProbe(size=size) if onednn_linear_available() else GemmProbe(size=size)}
            if native_bf16_available():
                probes["gemm-bf16"] = OneDnnBf16GemmProbe(size=size)
            else:
                print("# this CPU has no native bf16: no fast-bf16 row")
            for preset in args.presets:
                seconds = CROP_SECONDS.get(preset, 3.0)
                results["presets"][preset] = steps_section(
                    preset, args.batch, seconds, args.repeats, data_dir, probes, args.compile
                )
            print(format_steps(list(results["presets"].values())))
    if "layout" in args.sections:
        results["layout"] = layout_section(args.presets[0], args.layout_steps)
    results["load_end"] = load_average()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

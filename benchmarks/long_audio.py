"""Long audio through `pipeline("target-sound-extraction")`, one duration per fresh process, so
that the peak resident memory (`VmHWM`) belongs to that run alone.

    python -m benchmarks.long_audio --preset paper --seconds 600     # prints one JSON line

The pipeline uses its defaults (30 s chunks with exact context, refinement once per file: two
passes over chunks); `--eager` runs the unoptimised model.
"""

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import torch


def resident_bytes(field: str = "VmRSS") -> int:
    """This process's resident set size (`VmRSS`) or its peak (`VmHWM`), from Linux /proc.

    Not `ru_maxrss`: Linux keeps that across fork + exec, so a child started by a big benchmark
    process would report the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(preset: str, seconds: float, threads: int, optimized: bool, chunk_length_s: float | None = None) -> dict:
    from transformers import pipeline

    from benchmarks.contenders import our_model
    from modeling_qrtse import TASK, QrtseFeatureExtractor

    torch.set_num_threads(threads)
    model = our_model(preset)
    rate = model.config.sampling_rate
    extractor = pipeline(
        TASK,
        model=model,
        feature_extractor=QrtseFeatureExtractor(sampling_rate=rate),
        optimize_for_inference=optimized,
    )
    options = {"query": [model.config.id2label[0]], "threshold": 0.1}
    if chunk_length_s is not None:
        options["chunk_length_s"] = chunk_length_s
    audio = (np.random.default_rng(0).standard_normal(int(seconds * rate)) * 0.1).astype(np.float32)
    extractor(audio[:rate], **options)  # warm-up: lazy initialisation, first allocations
    before = resident_bytes()
    start = time.perf_counter()
    output = extractor(audio, **options)
    wall = time.perf_counter() - start
    assert output["audio"].shape == audio.shape
    return {
        "preset": preset,
        "seconds": seconds,
        "optimized": optimized,
        "wall_s": wall,
        "rtf": wall / seconds,
        "rss_before_bytes": before,
        "peak_rss_bytes": resident_bytes("VmHWM"),
    }


def run_in_subprocess(preset: str, seconds: float, threads: int, optimized: bool, chunk_length_s=None) -> dict:
    """`measure` in a fresh Python process; its JSON result."""
    command = [sys.executable, "-m", "benchmarks.long_audio", "--preset", preset, "--seconds", str(seconds)]
    command += ["--threads", str(threads)] + ([] if optimized else ["--eager"])
    if chunk_length_s is not None:
        command += ["--chunk-length", str(chunk_length_s)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eager", action="store_true", help="run the unoptimised model")
    parser.add_argument("--chunk-length", type=float, help="pipeline chunk_length_s (default: the pipeline's)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.preset, args.seconds, args.threads, not args.eager, args.chunk_length)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

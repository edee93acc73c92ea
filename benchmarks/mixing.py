"""How fast the mixture builder and dynamic mixing are, against what training consumes.

    python -m benchmarks.mixing                      # toy built-in corpus in a temp dir
    python -m benchmarks.mixing --data-dir data/builtin --mixtures 200

Prints, all single-process (one core for the data side):

1. built-in corpus rendering: seconds of clip audio rendered per second (x real time);
2. builder: frozen-split mixtures drawn, rendered, FLAC-encoded and written (Arrow, save_to_disk,
   parquet) per second of CPU, in x real time per core (goal >= 200x);
3. dynamic mixing: `DynamicMixtureDataset` examples per second, in x real time (one worker);
4. one training step of the `small` preset (forward, backward, AdamW step; torch threads as
   set) and the audio rate it consumes; the ratio of 3 to 4 should be >= 20x: one data worker
   then keeps the model fed twenty times over.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from qrtse.training.audio_io import SAMPLE_RATE
from qrtse.training.clip_dataset import build_clip_dataset, load_clip_pools
from qrtse.training.dynamic_dataset import DynamicMixtureDataset
from qrtse.training.frozen_split import iter_mixture_examples, save_frozen_splits
from qrtse.training.mixing import MixingConfig


class Timer:
    """Wall and CPU seconds of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def render_toy_corpus(output: Path, clips_per_class: int, backgrounds: int) -> float:
    """Build a small built-in clip corpus; print and return its rendering speed (x real time)."""
    from qrtse.training.sources.builtin import BuiltinSource

    source = BuiltinSource(
        clips_per_class={"train": clips_per_class, "validation": clips_per_class, "test": clips_per_class},
        backgrounds_per_split={"train": backgrounds, "validation": backgrounds, "test": backgrounds},
    )
    with Timer() as timer:
        clips = build_clip_dataset(source, output, progress=False)
    seconds = sum(sum(split["num_samples"]) for split in clips.values()) / SAMPLE_RATE
    # Wall time: babble voices are spoken by short-lived worker processes that process_time misses.
    speed = seconds / timer.wall
    print(f"built-in corpus: {seconds:.0f} s of clips in {timer.wall:.1f} s wall -> {speed:.0f}x real time")
    return speed


def builder_speed(clips_dir: Path, num_mixtures: int, config: MixingConfig) -> float:
    foreground, background, names = load_clip_pools(clips_dir, "test")
    with tempfile.TemporaryDirectory() as tmp, Timer() as timer:
        examples = iter_mixture_examples("test", num_mixtures, 0, foreground, background, names, config, progress=False)
        save_frozen_splits({"test": examples}, names, tmp, "benchmark", config)
    audio_s = num_mixtures * config.duration_s
    speed = audio_s / timer.cpu
    print(
        f"builder: {num_mixtures} mixtures ({audio_s:.0f} s) in {timer.cpu:.2f} s CPU / {timer.wall:.2f} s wall "
        f"-> {speed:.0f}x real time per core (goal >= 200x)"
    )
    return speed


def dynamic_speed(clips_dir: Path, num_mixtures: int, config: MixingConfig) -> tuple:
    dataset = DynamicMixtureDataset.from_build(
        clips_dir.parent, preload=True, mixtures_per_epoch=num_mixtures, config=config
    )
    next(iter(dataset))
    with Timer() as timer:
        for _ in dataset:
            pass
    # CPU time: a DataLoader worker is one process on one core, and this is robust to a busy machine.
    speed = num_mixtures * config.duration_s / timer.cpu
    print(
        f"dynamic mixing: {num_mixtures / timer.cpu:.1f} mixtures per CPU second ({timer.wall:.2f} s wall) "
        f"-> {speed:.0f}x real time per worker"
    )
    return speed, len(dataset.class_names)


def training_step_rate(num_classes: int, batch_size: int, segment_s: float, steps: int) -> float:
    """Seconds of audio per second one `small`-preset training step consumes."""
    from modeling_qrtse import QrtseConfig, QrtseModel

    model = QrtseModel(QrtseConfig.from_preset("small", id2label={i: f"class_{i}" for i in range(num_classes)}))
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    samples = int(segment_s * SAMPLE_RATE)
    generator = torch.Generator().manual_seed(0)
    mixture = torch.randn(batch_size, samples, generator=generator) * 0.1
    target = mixture * 0.5
    presence = (torch.rand(batch_size, num_classes, generator=generator) < 0.1).float()
    query = presence * (torch.rand(batch_size, num_classes, generator=generator) < 0.5)
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        output = model(input_values=mixture, query=query, target_values=target, presence_labels=presence, threshold=0.0)
        loss = output.loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step warms up allocators
            times.append(time.perf_counter() - start)
    step_s = float(np.min(times))  # the least disturbed step: other load only slows steps down
    rate = batch_size * segment_s / step_s
    print(
        f"training step (small preset, batch {batch_size} x {segment_s:g} s, {torch.get_num_threads()} threads): "
        f"{step_s:.2f} s wall -> consumes {rate:.1f} s of audio per second"
    )
    return rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="an existing build (uses <data-dir>/clips); default: a toy built-in corpus")
    parser.add_argument("--clips-per-class", type=int, default=6, help="toy corpus: clips per class and split")
    parser.add_argument("--backgrounds", type=int, default=4, help="toy corpus: backgrounds per split")
    parser.add_argument("--mixtures", type=int, default=100, help="mixtures timed for the builder and dynamic mixing")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--segment-seconds", type=float, default=6.0)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    args = parser.parse_args(argv)
    config = MixingConfig()
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            clips_dir = Path(args.data_dir) / "clips"
        else:
            clips_dir = Path(tmp) / "build" / "clips"
            render_toy_corpus(clips_dir, args.clips_per_class, args.backgrounds)
        builder_speed(clips_dir, args.mixtures, config)
        mixing, num_classes = dynamic_speed(clips_dir, args.mixtures, config)
    consumed = training_step_rate(num_classes, args.batch_size, args.segment_seconds, args.steps)
    print(f"dynamic mixing / training consumption: {mixing / consumed:.0f}x (goal >= 20x)")


if __name__ == "__main__":
    main()

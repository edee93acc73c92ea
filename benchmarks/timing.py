"""Timing that tolerates a noisy machine: contenders run interleaved (A B C A B C ...), so a burst
of load hits all of them alike, and each is summarised by its median."""

import os
import statistics
import time
from collections.abc import Callable

import torch


def interleaved_medians(contenders: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict:
    """Median wall seconds of each contender over `repeats` interleaved rounds, after `warmup`
    untimed calls of each (first calls pay for allocation, lazy initialisation, page faults)."""
    for function in contenders.values():
        for _ in range(warmup):
            function()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, function in contenders.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


class GemmProbe:
    """The machine's fp32 matrix-multiply rate: square `torch.mm` calls into a preallocated
    output, sized to take about `target_s` per call of the probe (it is timed with the others)."""

    def __init__(self, size: int = 2048, target_s: float = 0.25):
        generator = torch.Generator().manual_seed(0)
        self.a = torch.randn(size, size, generator=generator)
        self.b = torch.randn(size, size, generator=generator)
        self.out = torch.empty(size, size)
        self.flops_per_mm = 2 * size**3
        start = time.perf_counter()
        torch.mm(self.a, self.b, out=self.out)
        torch.mm(self.a, self.b, out=self.out)
        per_mm = (time.perf_counter() - start) / 2
        self.calls = max(1, round(target_s / max(per_mm, 1e-6)))

    @property
    def flops(self) -> float:
        return self.calls * self.flops_per_mm

    def __call__(self) -> None:
        for _ in range(self.calls):
            torch.mm(self.a, self.b, out=self.out)


def load_average() -> float:
    """The 1-minute load average (runnable processes), to print next to every measurement."""
    return os.getloadavg()[0]

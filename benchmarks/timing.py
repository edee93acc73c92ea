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
    """The machine's fp32 matrix-multiply rate: square `torch.mm` calls (MKL in PyTorch's CPU
    wheels) into a preallocated output, sized to take about `target_s` per call of the probe (it
    is timed with the others). Subclasses change `multiply` (and `dtype`) only."""

    dtype = torch.float32

    def __init__(self, size: int = 2048, target_s: float = 0.25):
        generator = torch.Generator().manual_seed(0)
        self.a = torch.randn(size, size, generator=generator).to(self.dtype)
        self.b = torch.randn(size, size, generator=generator).to(self.dtype)
        self.out = torch.empty(size, size)
        self.flops_per_mm = 2 * size**3
        self.calibrate(target_s)

    def calibrate(self, target_s: float) -> None:
        start = time.perf_counter()
        self.multiply()
        self.multiply()
        per_mm = (time.perf_counter() - start) / 2
        self.calls = max(1, round(target_s / max(per_mm, 1e-6)))

    def multiply(self) -> None:
        torch.mm(self.a, self.b, out=self.out)

    @property
    def flops(self) -> float:
        return self.calls * self.flops_per_mm

    def __call__(self) -> None:
        for _ in range(self.calls):
            self.multiply()


class OneDnnGemmProbe(GemmProbe):
    """The same product through oneDNN (`torch.ops.mkldnn._linear_pointwise`, what the optimised
    path's GEMMs use where available; see `modeling_qrtse/kernels/gemm.py`)."""

    def multiply(self) -> None:
        with torch.inference_mode():
            torch.ops.mkldnn._linear_pointwise(self.a, self.b, None, "none", [], "")


class OneDnnBf16GemmProbe(OneDnnGemmProbe):
    """The same oneDNN product on bfloat16 operands (float32 accumulation, bf16 output): the rate
    the bf16 fast paths' GEMMs can reach (`optimize_for_*(dtype=torch.bfloat16)`). Only meaningful
    where `modeling_qrtse.kernels.gemm.native_bf16_available()`."""

    dtype = torch.bfloat16


def load_average() -> float:
    """The 1-minute load average (runnable processes), to print next to every measurement."""
    return os.getloadavg()[0]


class OnnxRuntimeGemmProbe(GemmProbe):
    """The same square product as an ONNX Runtime MatMul (MLAS): on AMD CPUs PyTorch's MKL takes
    an AVX2 path, so the machine's fp32 GEMM rate is the better of the two probes."""

    def __init__(self, size: int = 2048, target_s: float = 0.25, threads: int = 2):
        import onnx
        import onnxruntime
        from onnx import TensorProto, helper, numpy_helper

        weight = numpy_helper.from_array(torch.randn(size, size).numpy(), "b")
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["a", "b"], ["c"])],
            "gemm",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [size, size])],
            [helper.make_tensor_value_info("c", TensorProto.FLOAT, [size, size])],
            [weight],
        )
        # IR 9 / opset 17: what onnxruntime 1.31 reads (onnx 1.23 writes IR 14 by default).
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
        onnx.checker.check_model(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self.feeds = {"a": torch.randn(size, size).numpy()}
        self.flops_per_mm = 2 * size**3
        self.calibrate(target_s)

    def multiply(self) -> None:
        self.session.run(None, self.feeds)

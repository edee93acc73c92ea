"""CPU kernels behind `QrtseModel.optimize_for_inference` / `optimize_for_training`: same outputs
and gradients as the reference modules (float rounding), faster on CPU.

- `fast_inference`: fused time-major TCNs, GEMM encoder/decoder, the BiGRU in ONNX Runtime;
- `fast_training`: the same layout with hand-written backward passes, switched in place;
- `gemm`: the GEMMs (oneDNN, bf16 where the CPU has it); `depthwise`: the dilated depthwise
  convolution; `bigru`: the classifier's BiGRU with its backward; `onnx_runtime`: CPU sessions.

Package-only: not shipped with the model's remote code, and imported only when the model asks for
them (the model module imports none of them at import time).
"""

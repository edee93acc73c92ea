"""The model module imports no CPU kernel at import time (issue 30): `optimize_for_inference` /
`optimize_for_training` import them when asked for."""

import subprocess
import sys

KERNELS = ("kernels", "fast_inference", "fast_training", "gemm", "depthwise", "bigru", "onnx_runtime")


def loaded_modules(statement: str) -> set:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {name.rsplit(".", 1)[-1] for name in output.split() if name.startswith("modeling_qrtse")}


def test_importing_the_package_loads_no_kernel():
    assert loaded_modules("import modeling_qrtse").isdisjoint(KERNELS)


def test_optimizing_loads_the_kernels_then():
    statement = (
        "from modeling_qrtse import QrtseConfig, QrtseModel\n"
        "QrtseModel(QrtseConfig.from_preset('tiny')).eval().optimize_for_inference()"
    )
    assert {"fast_inference", "gemm"} <= loaded_modules(statement)

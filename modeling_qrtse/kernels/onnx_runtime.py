"""ONNX Runtime CPU sessions: the one place their options are set (fused inference modules, exported models).

Shipped as remote code; onnxruntime is imported only when a session is opened.
"""


def onnx_session(model_or_path, threads: int = 2):
    """An ONNX Runtime CPU session on an ONNX model (bytes or a file path) with `threads`
    intra-op threads. Raises ImportError without onnxruntime."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle pool threads must not spin: PyTorch's own threads run the ops in between.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # No arena: it keeps the high-water mark of every input length it has seen (long audio).
    options.enable_cpu_mem_arena = False
    source = model_or_path if isinstance(model_or_path, bytes) else str(model_or_path)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])

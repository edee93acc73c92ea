"""qrtse: target sound extraction with context-aware query refinement, for transformers.

The project's one import name. The library is `modeling_qrtse` (the remote code shipped with a
model lives there, flat, and must import without this package); the recipes are the subpackages
`qrtse.training` and `qrtse.hub`. Importing `qrtse` registers the Auto classes and the
"target-sound-extraction" pipeline, as importing `modeling_qrtse` does.
"""

from modeling_qrtse import (
    TASK,
    QrtseAnalysis,
    QrtseConfig,
    QrtseFeatureExtractor,
    QrtseModel,
    QrtseOutput,
    QrtseProcessor,
    QrtseStreamer,
    QrtseStreamState,
    TargetSoundExtractionPipeline,
    __version__,
    causal_model_path,
    default_model_path,
)
from modeling_qrtse.long_form_qrtse import extract_long_form

__all__ = [
    "TASK",
    "QrtseAnalysis",
    "QrtseConfig",
    "QrtseFeatureExtractor",
    "QrtseModel",
    "QrtseOutput",
    "QrtseProcessor",
    "QrtseStreamState",
    "QrtseStreamer",
    "TargetSoundExtractionPipeline",
    "__version__",
    "causal_model_path",
    "default_model_path",
    "extract_long_form",
]

"""qrtse: target sound extraction with context-aware query refinement, for transformers."""

from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_qrtse import FSD_KAGGLE_2018_LABELS, QrtseConfig
from .default_checkpoint import causal_model_path, default_model_path
from .feature_extraction_qrtse import QrtseFeatureExtractor
from .modeling_qrtse import QrtseAnalysis, QrtseModel, QrtseOutput, QrtsePreTrainedModel
from .pipeline_qrtse import TASK, TargetSoundExtractionPipeline
from .processing_qrtse import QrtseProcessor
from .stream_state_qrtse import QrtseStreamState
from .streaming_qrtse import QrtseStreamer

__version__ = "0.1.0"

__all__ = [
    "FSD_KAGGLE_2018_LABELS",
    "TASK",
    "QrtseAnalysis",
    "QrtseConfig",
    "QrtseFeatureExtractor",
    "QrtseModel",
    "QrtseOutput",
    "QrtsePreTrainedModel",
    "QrtseProcessor",
    "QrtseStreamState",
    "QrtseStreamer",
    "TargetSoundExtractionPipeline",
    "__version__",
    "causal_model_path",
    "default_model_path",
]

AutoConfig.register(QrtseConfig.model_type, QrtseConfig)
AutoModel.register(QrtseConfig, QrtseModel)
AutoFeatureExtractor.register(QrtseConfig, QrtseFeatureExtractor)
AutoProcessor.register(QrtseConfig, QrtseProcessor)
QrtseConfig.register_for_auto_class()
QrtseModel.register_for_auto_class("AutoModel")
QrtseFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
QrtseProcessor.register_for_auto_class("AutoProcessor")
# Registered without a default model: what registration gives the class is what a pipeline's
# `save_pretrained` writes into config.json (`custom_pipelines`), and a folder of this
# installation means nothing on another machine or the Hub.
PIPELINE_REGISTRY.register_pipeline(
    TASK, pipeline_class=TargetSoundExtractionPipeline, pt_model=AutoModel, type="audio"
)
# `pipeline(TASK)` with no model reads its default from the registry's own entry (a new dict, so
# the class's copy stays without it): the embedded checkpoint, which loads offline.
PIPELINE_REGISTRY.supported_tasks[TASK] = {
    **PIPELINE_REGISTRY.supported_tasks[TASK],
    "default": {"model": (str(default_model_path()), None)},
}

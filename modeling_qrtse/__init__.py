"""qrtse: target sound extraction with context-aware query refinement, for transformers."""

from transformers import AutoConfig, AutoFeatureExtractor, AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_qrtse import FSD_KAGGLE_2018_LABELS, QrtseConfig
from .default_checkpoint import default_model_path
from .feature_extraction_qrtse import QrtseFeatureExtractor
from .modeling_qrtse import QrtseAnalysis, QrtseModel, QrtseOutput, QrtsePreTrainedModel
from .pipeline_qrtse import TASK, TargetSoundExtractionPipeline

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
    "TargetSoundExtractionPipeline",
    "__version__",
    "default_model_path",
]

AutoConfig.register(QrtseConfig.model_type, QrtseConfig)
AutoModel.register(QrtseConfig, QrtseModel)
AutoFeatureExtractor.register(QrtseConfig, QrtseFeatureExtractor)
QrtseConfig.register_for_auto_class()
QrtseModel.register_for_auto_class("AutoModel")
QrtseFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
PIPELINE_REGISTRY.register_pipeline(
    TASK,
    pipeline_class=TargetSoundExtractionPipeline,
    pt_model=AutoModel,
    default={"model": (str(default_model_path()), None)},
    type="audio",
)
# `pipeline(TASK)` takes its default model from the registry. The class's own copy of the task
# is what `save_pretrained` writes into a saved model's config.json (`custom_pipelines`), where a
# folder of this installation means nothing: it is kept without the default, once, here.
TargetSoundExtractionPipeline._registered_impl = {
    task: {key: value for key, value in info.items() if key != "default"}
    for task, info in TargetSoundExtractionPipeline._registered_impl.items()
}

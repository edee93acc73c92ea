"""qrtse: target sound extraction with context-aware query refinement, for transformers."""

from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

from .configuration_qrtse import FSD_KAGGLE_2018_LABELS, QrtseConfig
from .feature_extraction_qrtse import QrtseFeatureExtractor
from .modeling_qrtse import QrtseAnalysis, QrtseModel, QrtseOutput, QrtsePreTrainedModel

__version__ = "0.1.0"

__all__ = [
    "FSD_KAGGLE_2018_LABELS",
    "QrtseConfig",
    "QrtseFeatureExtractor",
    "QrtseAnalysis",
    "QrtseModel",
    "QrtseOutput",
    "QrtsePreTrainedModel",
    "__version__",
]

AutoConfig.register(QrtseConfig.model_type, QrtseConfig)
AutoModel.register(QrtseConfig, QrtseModel)
AutoFeatureExtractor.register(QrtseConfig, QrtseFeatureExtractor)
QrtseConfig.register_for_auto_class()
QrtseModel.register_for_auto_class("AutoModel")
QrtseFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")

"""`QrtseProcessor`: what a user gives -> the model's inputs, and the model's outputs -> class names.

The feature extractor prepares the mixture; the query encoder (`query_qrtse`) turns class names,
indices or a multi-hot vector into the query q of eq. (3). Every caller (pipeline, CLI, Space,
training) parses a query through this class, so that a query means the same thing everywhere.

Shipped as remote code next to the model: flat sibling imports and numpy/torch/transformers only.
"""

import numpy as np
import torch
from transformers import BatchFeature, PretrainedConfig, ProcessorMixin

from .feature_extraction_qrtse import QrtseFeatureExtractor
from .query_qrtse import multi_hot_to_labels, parse_query

# What `from_pretrained` passes on when it reads the classes from a folder's config.json.
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "proxies", "revision", "subfolder", "token")


def labels_of(id2label: dict) -> list:
    """A config's `id2label` (int keys, or str keys as read from JSON) as class names in index order."""
    return [id2label[index] for index in sorted(id2label, key=int)]


def check_labels(labels) -> list:
    """`labels` as a list of distinct, non-empty class names; `ValueError` otherwise."""
    if isinstance(labels, str) or not hasattr(labels, "__iter__"):
        raise ValueError(f"labels must be a list of class names, got {labels!r}")
    labels = list(labels)
    if not labels or not all(isinstance(label, str) and label for label in labels):
        raise ValueError("labels must be a non-empty list of class names (non-empty strings)")
    if len(set(labels)) != len(labels):
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        raise ValueError(f"labels must be distinct, got {duplicates} more than once")
    return labels


class QrtseProcessor(ProcessorMixin):
    r"""
    Prepares inputs for [`QrtseModel`] and names its outputs: the feature extractor for the mixture
    plus the query encoder for the query (paper Section 3.1, eq. 3), the one place a query is parsed.

    ```python
    >>> from transformers import AutoModel, AutoProcessor
    >>> processor = AutoProcessor.from_pretrained(folder_or_repo)  # trust_remote_code=True without the package
    >>> model = AutoModel.from_pretrained(folder_or_repo)
    >>> inputs = processor(audio, sampling_rate=44100, query=["Trumpet", "Bark"])
    >>> out = model(**inputs)
    >>> processor.decode_query(out.refined_query[0]), processor.decode_probabilities(out.clip_probabilities[0])
    ```

    Query forms (`C` = number of classes; see `query_qrtse.parse_query`): a label name or index
    (`"Bark"`, `2`, `"2"`: a string of digits is an index), a list of them (one query set: their
    sum is one target), a multi-hot `(C,)` numpy array or tensor, or several query sets (a list of
    the above, or a `(K, C)` array) for K targets in one pass. Names are case and `_`/space
    insensitive. Bad queries raise a one-line `ValueError`: an unknown name (with suggestions,
    "dog" -> "Bark"), an index out of range, an empty query, a malformed vector.

    Args:
        feature_extractor ([`QrtseFeatureExtractor`]): Prepares the mixture (mono, float32, the model rate).
        labels (`list[str]`, *optional*): The model's classes in index order (its config's `id2label`).
            Saved in `processor_config.json`; `from_pretrained` reads them from the folder's
            `config.json` when that file has none.
    """

    def __init__(self, feature_extractor, labels=None):
        super().__init__(feature_extractor)
        self.labels = None if labels is None else check_labels(labels)

    @classmethod
    def from_config(cls, config, feature_extractor=None) -> "QrtseProcessor":
        """The processor of a model `config`: its classes and `feature_extractor`, by default one at its rate."""
        if feature_extractor is None:
            feature_extractor = QrtseFeatureExtractor(sampling_rate=config.sampling_rate)
        return cls(feature_extractor, labels_of(config.id2label))

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "QrtseProcessor":
        """As [`ProcessorMixin.from_pretrained`]; a folder saved without the processor (only the
        model and its feature extractor) takes its classes from its `config.json`."""
        processor = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        if processor.labels is None:
            hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
            config, _ = PretrainedConfig.get_config_dict(pretrained_model_name_or_path, **hub_kwargs)
            processor.labels = check_labels(labels_of(config["id2label"]))
        return processor

    def check_model_config(self, config) -> None:
        """`ValueError` unless this processor's classes are the model `config`'s, in the same order."""
        if self.labels != labels_of(config.id2label):
            raise ValueError(
                f"the processor's classes are not the model's ({len(self.labels or [])} vs {config.num_labels} "
                "classes, or another order): use the processor saved with the model"
            )

    @property
    def label2id(self) -> dict:
        if self.labels is None:
            raise ValueError("this processor has no classes: pass labels=[...] or load it from a model folder")
        return {label: index for index, label in enumerate(self.labels)}

    @property
    def id2label(self) -> dict:
        return {index: label for label, index in self.label2id.items()}

    # --- the query encoder: what a user names -> the query tensor ---

    def encode_query(self, query, allow_empty: bool = False) -> torch.Tensor:
        """`query` (any form above) -> float32 multi-hot `(C,)`, or `(K, C)` for several query sets.
        `allow_empty`: a query set may name no class (a training item with nothing audible)."""
        multi_hot, several = parse_query(query, self.label2id, allow_empty)
        multi_hot = torch.from_numpy(multi_hot)
        return multi_hot if several else multi_hot[0]

    def encode_presence(self, classes) -> torch.Tensor:
        """Classes known to be present in the mixture (oracle refinement; names, indices or
        multi-hot, possibly none) -> float32 `(C,)`."""
        multi_hot, several = parse_query(classes, self.label2id, allow_empty=True)
        if several:
            raise ValueError("oracle_classes must be one set of classes (those present in the mixture)")
        return torch.from_numpy(multi_hot[0])

    def __call__(
        self,
        audio=None,
        query=None,
        sampling_rate: int | None = None,
        oracle_classes=None,
        return_tensors: str | None = "pt",
        **kwargs,
    ) -> BatchFeature:
        """The model's inputs. `audio` (one clip or a list, at `sampling_rate`; see
        [`QrtseFeatureExtractor`], which takes `kwargs`) -> `input_values` and `attention_mask`
        `(batch, time)`; `query` -> `query` `(batch, C)`, or `(batch, K, C)` for several query sets,
        the same for every clip; `oracle_classes` -> `oracle_presence` `(batch, C)`."""
        if audio is None and query is None:
            raise ValueError("give audio, a query or both")
        data = {}
        if audio is not None:
            data.update(self.feature_extractor(audio, sampling_rate=sampling_rate, return_tensors="np", **kwargs))
        batch_size = len(data["input_values"]) if data else 1
        if query is not None:
            data["query"] = np.repeat(self.encode_query(query).numpy()[None], batch_size, axis=0)
        if oracle_classes is not None:
            data["oracle_presence"] = np.repeat(self.encode_presence(oracle_classes).numpy()[None], batch_size, axis=0)
        return BatchFeature(data, tensor_type=return_tensors)

    # --- the way back: the model's queries and probabilities -> class names ---

    def decode_query(self, query) -> list:
        """A (refined) query back to class names in vocabulary order: `(C,)` -> names, `(..., C)`
        -> nested lists of names."""
        values = query.detach().cpu().float().numpy() if torch.is_tensor(query) else np.asarray(query)
        self._check_classes(values.shape, "query")
        if values.ndim > 1:
            return [self.decode_query(row) for row in values]
        return multi_hot_to_labels(values, self.id2label)

    def decode_probabilities(self, probabilities, sort: bool = True) -> dict:
        """Class probabilities `(C,)` -> `{label: p}` (Python floats), highest first (`sort`) or
        in vocabulary order."""
        values = torch.as_tensor(probabilities).detach().cpu().float()
        self._check_classes(tuple(values.shape), "probabilities", one_dimensional=True)
        values = values.tolist()
        order = sorted(range(len(values)), key=lambda index: -values[index]) if sort else range(len(values))
        return {self.labels[index]: values[index] for index in order}

    def _check_classes(self, shape: tuple, name: str, one_dimensional: bool = False) -> None:
        expected = len(self.label2id)
        if not shape or shape[-1] != expected or (one_dimensional and len(shape) != 1):
            wanted = f"({expected},)" if one_dimensional else f"(..., {expected})"
            raise ValueError(f"{name} must have shape {wanted}, one value per class, got {tuple(shape)}")

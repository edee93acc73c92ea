"""Moving a trained model to another class vocabulary (fine-tuning on data with more, fewer or
reordered classes), as `resize_token_embeddings` does for language models.

Only two tensors carry a class axis: the query embedding's columns (one per class, eq. 2) and
the classifier's frame-logit rows. Classes the old and new vocabularies share keep their
trained weights, by name; new classes get a freshly initialised model's weights (seeded), and
classes not in the new vocabulary are dropped. Everything else is copied unchanged.
"""

import torch

CLASS_AXIS = {"query_embedding.weight": 1, "classifier.frame_logits.weight": 0, "classifier.frame_logits.bias": 0}


def with_labels(model, labels, seed: int = 0):
    """A new model with vocabulary `labels` (a sequence of class names), initialised from `model`."""
    labels = list(labels)
    if len(set(labels)) != len(labels) or not labels:
        raise ValueError("labels must be a non-empty list of distinct class names")
    # Per-class thresholds carry over for the classes that stay; new classes take the default theta.
    class_thresholds = {
        label: theta
        for label, theta in (getattr(model.config, "class_thresholds", None) or {}).items()
        if label in labels
    }
    config = model.config.__class__.from_dict(
        {
            **model.config.to_dict(),
            "id2label": dict(enumerate(labels)),
            "label2id": {l: i for i, l in enumerate(labels)},
            "class_thresholds": class_thresholds or None,
        }
    )
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream untouched
        torch.manual_seed(seed)
        fresh = model.__class__(config)
    old_index = {label: index for index, label in model.config.id2label.items()}
    state, new_state = model.state_dict(), fresh.state_dict()
    for name, tensor in state.items():
        if name not in CLASS_AXIS:
            new_state[name] = tensor.clone()
            continue
        axis = CLASS_AXIS[name]
        for new, label in enumerate(labels):
            if label in old_index:
                new_state[name].select(axis, new).copy_(tensor.select(axis, old_index[label]))
    fresh.load_state_dict(new_state)
    return fresh

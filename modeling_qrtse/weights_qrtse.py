"""Weights are read from safetensors only: unpickling a `pytorch_model.bin` can run arbitrary
code, and a safetensors file cannot. `QrtsePreTrainedModel.from_pretrained` goes through
`from_pretrained_safetensors`, so every load path (the pipeline, the CLI, the Space, the
training and Hub recipes, and remote code from a Hub repository) refuses pickled weights.

Shipped as remote code next to the model: standard library only.
"""

import os

SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLED_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def conversion_hint(location: str) -> str:
    """How to turn pickled weights (from a source you trust) into safetensors, in one line."""
    return (
        "Convert them once, from a source you trust: `model = QrtseModel(QrtseConfig.from_pretrained(path)); "
        "model.load_state_dict(torch.load(path + '/pytorch_model.bin', weights_only=True)); "
        f"model.save_pretrained(path, safe_serialization=True)` with path = {location!r}."
    )


def check_weights_folder(location, subfolder: str = "") -> str | None:
    """The local folder `location` (/`subfolder`) names, None when it is not a folder (a Hub id).
    `ValueError`, with how to convert them, when the folder holds pickled weights and no
    safetensors: a caller may check this before `pipeline(...)`, which wraps load errors."""
    folder = os.path.join(os.fspath(location), subfolder) if subfolder else os.fspath(location)
    if not os.path.isdir(folder):
        return None
    names = set(os.listdir(folder))
    has_safetensors = any(name.endswith(".safetensors") or name in SAFETENSORS_FILES for name in names)
    if not has_safetensors and names & set(PICKLED_FILES):
        raise ValueError(
            f"{folder} holds only pickled PyTorch weights (pytorch_model.bin), which qrtse does not load "
            f"(unpickling can run code). {conversion_hint(folder)}"
        )
    return folder


def from_pretrained_safetensors(load, pretrained_model_name_or_path, *args, **kwargs):
    """`load(pretrained_model_name_or_path, *args, use_safetensors=True, **kwargs)`.

    `ValueError` for `use_safetensors=False`, and for a folder or Hub repository that holds only
    pickled weights, with how to convert them (`conversion_hint`)."""
    if kwargs.get("use_safetensors") is False:
        raise ValueError("qrtse loads safetensors weights only (use_safetensors=False is not supported)")
    kwargs["use_safetensors"] = True
    location = pretrained_model_name_or_path
    folder = None if location is None else check_weights_folder(location, kwargs.get("subfolder", ""))
    try:
        return load(location, *args, **kwargs)
    except OSError as error:
        # A Hub repository without safetensors (transformers' own message for that case).
        if folder is None and "cannot be loaded with `safetensors`" in str(error):
            raise ValueError(
                f"{location} has no safetensors weights (model.safetensors), and qrtse loads no others "
                f"(unpickling can run code). {conversion_hint(str(location))}"
            ) from error
        raise

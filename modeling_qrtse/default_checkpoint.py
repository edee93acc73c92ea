"""Where the package's embedded default checkpoint lives (package only, not shipped to the Hub).

`pipeline("target-sound-extraction")` with no model, and `qrtse extract` with no `--model`, load
this folder: a small-preset model trained on the built-in corpus, saved with its feature
extractor, so that the default path works offline.
"""

from pathlib import Path


def default_model_path() -> Path:
    """The embedded checkpoint folder, `modeling_qrtse/default_model/` (may not exist in a source
    checkout before the model is trained)."""
    return Path(__file__).resolve().parent / "default_model"


def default_model_available() -> bool:
    """Whether the embedded checkpoint has been saved (its config and weights are present)."""
    folder = default_model_path()
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))

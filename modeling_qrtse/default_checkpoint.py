"""Where the package's embedded checkpoints live (package only, not shipped to the Hub).

`pipeline("target-sound-extraction")` with no model, and `qrtse extract` with no `--model`, load
the default model: a small-preset model trained on the built-in corpus, saved with its feature
extractor, so that the default path works offline. `qrtse stream` with no `--model` and the
Space's Live tab load the causal model (`small-causal`, for streaming), when it is embedded.
"""

from pathlib import Path


def default_model_path() -> Path:
    """The embedded checkpoint folder, `modeling_qrtse/default_model/` (may not exist in a source
    checkout before the model is trained)."""
    return Path(__file__).resolve().parent / "default_model"


def causal_model_path() -> Path:
    """The embedded causal checkpoint folder, `modeling_qrtse/causal_model/`."""
    return Path(__file__).resolve().parent / "causal_model"


def default_model_available() -> bool:
    """Whether the embedded checkpoint has been saved (its config and weights are present)."""
    return _saved(default_model_path())


def causal_model_available() -> bool:
    """Whether the embedded causal checkpoint has been saved."""
    return _saved(causal_model_path())


def _saved(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))

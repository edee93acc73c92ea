"""Which model a command uses, and one line instead of a traceback when it cannot be loaded."""

import sys
from contextlib import contextmanager
from pathlib import Path


def resolve_model(model) -> str:
    """`model` (a saved folder or a Hub id), or the embedded default checkpoint; a clear error for
    a folder that does not exist or a missing default."""
    if model:
        path = Path(model).expanduser()
        looks_like_a_path = model.startswith(("/", ".", "~")) or model.endswith("/") or model.count("/") > 1
        if not path.exists() and looks_like_a_path:
            raise ValueError(f"model folder {model} does not exist")
        if path.exists() and not path.is_dir():
            raise ValueError(f"--model {model} is a file; give the folder that holds config.json and model.safetensors")
        return str(path) if path.exists() else model
    from modeling_qrtse.default_checkpoint import default_model_available, default_model_path

    if not default_model_available():
        raise ValueError(
            f"the embedded default model is not in this installation ({default_model_path()}); pass --model "
            "with a saved model folder or Hub id"
        )
    return str(default_model_path())


@contextmanager
def loading(model: str):
    """Turn what loading a bad, foreign, truncated or unreachable model raises into one ValueError."""
    from modeling_qrtse.weights_qrtse import check_weights_folder

    try:
        check_weights_folder(model)  # pickled-only weights: say how to convert, in one line
        yield
    except ValueError as error:
        raise ValueError(f"cannot load model {model}: {first_line(error)}") from error
    except Exception as error:  # OSError, KeyError, safetensors and JSON errors alike
        raise ValueError(f"cannot load model {model}: {type(error).__name__}: {first_line(error)}") from error


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def qrtse_config(model) -> tuple:
    """`(source, config)` of `model` (resolved as `resolve_model` does): one ValueError naming the
    model when the config is missing, malformed or of another model type."""
    from transformers import AutoConfig

    source = resolve_model(model)
    with loading(source):
        config = AutoConfig.from_pretrained(source)
        if getattr(config, "model_type", None) != "qrtse":
            raise ValueError(f"it is a {getattr(config, 'model_type', None)!r} model, not a qrtse one")
    return source, config


def load_checked_model(model):
    """The `QrtseModel` of `model`, loaded once (config type, weights), so a bad one is a
    ValueError before any work."""
    from transformers.utils import logging

    from modeling_qrtse.modeling_qrtse import QrtseModel

    logging.disable_progress_bar()  # keep the command's output to its result
    source, _ = qrtse_config(model)
    with loading(source):
        return QrtseModel.from_pretrained(source)


def exit_status(prog: str, command) -> int:
    """Run `command()`; a ValueError (anything a user can cause) is `prog: error: <one line>`, status 2."""
    try:
        return command() or 0
    except ValueError as error:
        print(f"{prog}: error: {first_line(error)}", file=sys.stderr)
        return 2

"""Edit a saved model's `config.json` in place, key by key.

The selection commands (`qrtse.training.select threshold`, `class-thresholds`, `frame-smoothing`)
store what they chose this way rather than with `config.save_pretrained`: that would add
remote-code entries (`auto_map`) and copies of the code to a folder, such as the embedded
default model, that ships without them (see `qrtse.training.export_default_model`). The new values
are validated by loading the edited config before the file is replaced.
"""

import json
from pathlib import Path

from modeling_qrtse import QrtseConfig


def set_config_keys(model_dir, **values) -> dict:
    """Set `values` in `model_dir/config.json` (other keys untouched); returns the new dict.
    Raises the config's own `ValueError` for a bad value, leaving the file unchanged."""
    path = Path(model_dir) / "config.json"
    config = json.loads(path.read_text()) | values
    QrtseConfig.from_dict(config)  # a bad value fails here, before the file changes
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return config

"""Helpers shared by the publishing tests (imported by name: pytest puts this folder on sys.path)."""

import os
from pathlib import Path

TABLE_AND_SWEEP = ("1:0", "1:1", "1:3", "0:1", "1:2", "1:4", "1:5")
THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2)


def hub_environment(hub, home: Path) -> dict:
    """A shell pointed at `hub` with an empty cache: what a user with `HF_ENDPOINT` set has."""
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_TOKEN="hf_local_dummy",
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(home),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


def fake_results(model_dir, data_dir="data/builtin") -> dict:
    """A results.json as `python -m qrtse.training.evaluate` writes it, with distinct made-up scores:
    SNRi 10 + condition index + theta, A_mix -20 - 100 theta."""
    scores = {}
    for index, condition in enumerate(TABLE_AND_SWEEP):
        for setting in [str(t) for t in THRESHOLDS] + ["oracle"]:
            theta = 0.5 if setting == "oracle" else float(setting)
            value = -20 - 100 * theta if condition == "0:1" else 10 + index + theta
            scores[f"{condition}|{setting}"] = value
    proposed = {
        "scores": scores,
        "macro_f1": {str(t): 0.5 + t for t in THRESHOLDS},
        "parameters_m": 0.05,
        "gmacs_per_second": 0.01,
        "has_classifier": True,
        "path": str(model_dir),
        "num_mixtures": 3,
    }
    baseline = {**proposed, "has_classifier": False, "macro_f1": {}, "path": "runs/baseline1/best"}
    return {
        "split": "test",
        "data_dir": str(data_dir),
        "seed": 0,
        "thresholds": list(THRESHOLDS),
        "oracle": "oracle",
        "systems": {"baseline1": baseline, "proposed": proposed},
    }

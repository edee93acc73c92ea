"""Resumable checkpoints (Accelerate state) and the best model by validation score."""

import json
import math
import shutil
from pathlib import Path

CHECKPOINT_PREFIX = "checkpoint-"


class TrainingProgress:
    """Step counter, loss history and best validation score, saved with every checkpoint
    through `accelerator.register_for_checkpointing` so a resumed run continues exactly."""

    def __init__(self):
        self.step = 0
        self.losses = []
        self.best_score = -math.inf
        self.best_step = None

    def record_loss(self, loss: float) -> None:
        self.losses.append(loss)

    def consider_best(self, score: float, accelerator, model, output_dir: Path, metric: str = "snri_fmq") -> None:
        """Save `model` (a `QrtseModel`, already unwrapped) as output_dir/best when `score`
        (validation `metric`, higher is better) beats every earlier one."""
        if score > self.best_score:
            self.best_score, self.best_step = score, self.step
            if accelerator.is_main_process:
                model.save_pretrained(output_dir / "best")
                (output_dir / "best" / "validation.json").write_text(
                    json.dumps({"step": self.step, metric: score}) + "\n"
                )

    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "losses": list(self.losses),
            "best_score": self.best_score,
            "best_step": self.best_step,
        }

    def load_state_dict(self, state: dict) -> None:
        self.step, self.losses, self.best_score = state["step"], list(state["losses"]), state["best_score"]
        self.best_step = state.get("best_step")  # checkpoints written before it was recorded lack it


def checkpoint_dirs(output_dir: Path) -> list:
    found = [p for p in Path(output_dir).glob(f"{CHECKPOINT_PREFIX}*") if p.name[len(CHECKPOINT_PREFIX) :].isdigit()]
    return sorted(found, key=lambda p: int(p.name[len(CHECKPOINT_PREFIX) :]))


def latest_checkpoint(output_dir: Path):
    """Newest complete checkpoint, or None. A folder without the completion marker is a
    checkpoint whose writing was killed: ignored."""
    complete = [p for p in checkpoint_dirs(output_dir) if (p / "COMPLETE").exists()]
    return complete[-1] if complete else None


def save_checkpoint(accelerator, output_dir: Path, step: int, keep: int) -> None:
    """Write `checkpoint-<step>` atomically enough for SIGKILL: the marker is written last."""
    path = Path(output_dir) / f"{CHECKPOINT_PREFIX}{step}"
    accelerator.save_state(str(path))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (path / "COMPLETE").touch()
        for old in checkpoint_dirs(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()

"""A wall-clock budget for one training invocation (`train --max_minutes`).

Every process must stop at the same step, so with several processes the decision is taken
together: the run stops as soon as any process is out of time.
"""

import time

import torch


class TimeBudget:
    def __init__(self, minutes: float | None, started_at: float, accelerator, clock=time.monotonic):
        if minutes is not None and not minutes > 0:
            raise ValueError(f"max_minutes must be positive, got {minutes}")
        self.clock = clock
        self.deadline = None if minutes is None else started_at + 60.0 * minutes
        self.accelerator = accelerator

    def expired(self) -> bool:
        if self.deadline is None:
            return False
        out_of_time = self.clock() >= self.deadline
        if self.accelerator.num_processes > 1:
            flag = torch.tensor([float(out_of_time)], device=self.accelerator.device)
            out_of_time = bool(self.accelerator.reduce(flag, "sum").item() > 0)
        return out_of_time

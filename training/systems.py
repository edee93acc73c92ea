"""The three compared systems of paper Section 4.1, as config overrides and data settings."""

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    use_classifier: bool
    inactive_samples: bool
    description: str


SYSTEMS = {
    "proposed": System(True, False, "TSE + weakly supervised SED classifier, FMQ only, L = L_tse + lambda L_cls"),
    "baseline1": System(False, False, "TSE only, FMQ only"),
    "baseline2": System(False, True, "TSE only, FMQ + inactive samples (silent target, SoundBeam loss)"),
}


def get_system(name: str) -> System:
    if name not in SYSTEMS:
        raise ValueError(f"Unknown system {name!r}; choose one of {tuple(SYSTEMS)}")
    return SYSTEMS[name]

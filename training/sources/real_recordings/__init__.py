"""Real recordings for the built-in corpus, from Debian packages labelled by the reviewable rules
of `manifest.toml` (see `source` for the splits and `packages` for fetching)."""

from .source import RealRecordingsSource

__all__ = ["RealRecordingsSource"]

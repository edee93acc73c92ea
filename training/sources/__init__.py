"""Clip sources for the mixture builder (paper Section 4.1): each gives labelled foreground clips
and unlabelled background clips per split. Imported lazily so that using one source never needs
another's dependencies (the built-in corpus needs tinysoundfont, the others do not)."""

from .base import SPLITS, Clip, ClipSource

__all__ = ["SPLITS", "Clip", "ClipSource"]

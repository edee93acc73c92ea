"""Choose what the model's config stores, on validation only (never on test): one command, four
subcommands.

    python -m qrtse.training.select threshold RESULTS_JSON [RESULTS_JSON ...] --model DIR
    python -m qrtse.training.select class-thresholds --model DIR --data-dir DIR [--data-dir DIR] [--write]
    python -m qrtse.training.select frame-smoothing --model DIR --intra-clip-dir DIR --standard-dir DIR [--write]
    python -m qrtse.training.select online-refinement --model DIR --intra-clip-dir DIR [--write]

- `threshold`: the refinement threshold theta, `config.refinement_threshold`
  (`qrtse.training.select_threshold`);
- `class-thresholds`: one theta per class, `config.class_thresholds`, with a held-out estimate of
  the gain (`qrtse.training.select_class_thresholds`);
- `frame-smoothing`: frame-level refinement's threshold and smoothing, `config.frame_smoothing`
  (`qrtse.training.select_frame_smoothing`);
- `online-refinement`: a causal model's online-refinement timing, `config.presence_window_s` and
  `config.release_s` (`qrtse.training.select_online_refinement`).

Each subcommand is its module's `main`; `python -m qrtse.training.select SUBCOMMAND --help` gives
its criterion and options.
"""

import argparse
import sys

from . import select_class_thresholds, select_frame_smoothing, select_online_refinement, select_threshold

SUBCOMMANDS = {
    "threshold": select_threshold,
    "class-thresholds": select_class_thresholds,
    "frame-smoothing": select_frame_smoothing,
    "online-refinement": select_online_refinement,
}


def main(argv=None):
    """Run `SUBCOMMAND`'s `main` on the remaining arguments; returns what it returns."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="python -m qrtse.training.select",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("subcommand", choices=SUBCOMMANDS)
    # Only the subcommand's name is parsed here: its options are its module's.
    subcommand = parser.parse_args(argv[:1]).subcommand
    return SUBCOMMANDS[subcommand].main(argv[1:], prog=f"{parser.prog} {subcommand}")


if __name__ == "__main__":
    main()

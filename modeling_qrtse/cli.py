"""The `qrtse` command. Each subcommand lives in its own module and registers itself here."""

import argparse
import json
import sys

from .cli_export_onnx import add_export_onnx_command
from .cli_extract import add_classes_command, add_extract_command


def add_summary_command(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="parameter counts and MACs per second of audio")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", default="paper", help="a QrtseConfig preset (paper, small, tiny)")
    source.add_argument("--model", help="a saved model folder or Hub id (its config is summarised)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=run_summary)


def run_summary(args) -> int:
    from .configuration_qrtse import QrtseConfig
    from .summary import format_summary, summarize

    if args.model:
        from .cli_models import qrtse_config

        _, config = qrtse_config(args.model)
    else:
        config = QrtseConfig.from_preset(args.preset)
    summary = summarize(config)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


SUBCOMMANDS = [add_summary_command, add_extract_command, add_classes_command, add_export_onnx_command]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="qrtse", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_command in SUBCOMMANDS:
        add_command(subparsers)
    args = parser.parse_args(argv)
    from .cli_models import exit_status

    return exit_status(f"qrtse {args.command}", lambda: args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

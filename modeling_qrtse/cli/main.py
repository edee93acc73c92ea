"""The `qrtse` command's parser. Each subcommand lives in its own module and registers itself here."""

import argparse

from modeling_qrtse.cli.classes import add_classes_command
from modeling_qrtse.cli.export_onnx import add_export_onnx_command
from modeling_qrtse.cli.extract import add_extract_command
from modeling_qrtse.cli.models import exit_status
from modeling_qrtse.cli.stream import add_stream_command
from modeling_qrtse.cli.summary import add_summary_command

SUBCOMMANDS = [
    add_summary_command,
    add_extract_command,
    add_stream_command,
    add_classes_command,
    add_export_onnx_command,
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="qrtse", description="Target sound extraction with query refinement.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_command in SUBCOMMANDS:
        add_command(subparsers)
    args = parser.parse_args(argv)
    return exit_status(f"qrtse {args.command}", lambda: args.handler(args))

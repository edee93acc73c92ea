"""`qrtse summary`: parameter counts and MACs per second of audio (see `modeling_qrtse.summary`)."""

import json


def add_summary_command(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="parameter counts and MACs per second of audio")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--preset", default="paper", help="a QrtseConfig preset (paper, small, paper-causal, small-causal, tiny)"
    )
    source.add_argument("--model", help="a saved model folder or Hub id (its config is summarised)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=run_summary)


def run_summary(args) -> int:
    from modeling_qrtse.cli.models import qrtse_config
    from modeling_qrtse.configuration_qrtse import QrtseConfig
    from modeling_qrtse.summary import format_summary, summarize

    if args.model:
        _, config = qrtse_config(args.model)
    else:
        config = QrtseConfig.from_preset(args.preset)
    summary = summarize(config)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0

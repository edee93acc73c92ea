"""`qrtse classes`: the classes a model can extract (what `--query` accepts)."""

import json


def add_classes_command(subparsers) -> None:
    parser = subparsers.add_parser("classes", help="list the classes a model can extract")
    parser.add_argument("--model", help="saved model folder or Hub id (default: the embedded checkpoint)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(handler=run_classes)


def run_classes(args) -> int:
    from modeling_qrtse.cli.models import qrtse_config

    _, config = qrtse_config(args.model)
    labels = [config.id2label[index] for index in sorted(config.id2label)]
    print(json.dumps(labels) if args.json else "\n".join(f"{index:3d}  {label}" for index, label in enumerate(labels)))
    return 0

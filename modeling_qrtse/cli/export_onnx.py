"""`qrtse export-onnx`: write a model as ONNX for ONNX Runtime (see `modeling_qrtse.onnx_export`)."""


def add_export_onnx_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-onnx",
        help="export a model to ONNX (input_values, query -> extracted_values, clip_probabilities)",
        description="Export a saved model to ONNX with dynamic batch and time axes. Query refinement "
        "(eq. 7) is inside the graph at a fixed threshold.",
    )
    parser.add_argument("--model", help="saved model folder or Hub id (default: the embedded checkpoint)")
    parser.add_argument("--preset", help="export a randomly initialised model of this preset instead (tests)")
    parser.add_argument("-o", "--output", default="model.onnx", help="output file (default: model.onnx)")
    parser.add_argument(
        "--threshold", type=float, help="refinement threshold theta in the graph (default: the model's; 0 = off)"
    )
    parser.add_argument(
        "--refinement",
        choices=("file", "frame"),
        default="file",
        help="refine once per input (default) or per frame with the model's frame smoothing (adds frame_activity)",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.set_defaults(handler=run_export_onnx)


def run_export_onnx(args) -> int:
    from modeling_qrtse.cli.models import load_checked_model
    from modeling_qrtse.cli.output_files import check_output_paths, write_atomically
    from modeling_qrtse.configuration_qrtse import QrtseConfig
    from modeling_qrtse.modeling_qrtse import QrtseModel
    from modeling_qrtse.onnx_export import export_onnx
    from modeling_qrtse.refinement_qrtse import check_threshold

    check_output_paths([args.output], overwrite=args.overwrite, suffixes=(".onnx",))
    if args.threshold is not None:
        check_threshold(args.threshold)
    if args.preset:
        model = QrtseModel(QrtseConfig.from_preset(args.preset))
    else:
        model = load_checked_model(args.model)
    options = {"threshold": args.threshold, "opset": args.opset, "refinement": args.refinement}
    write_atomically(args.output, lambda partial: export_onnx(model.eval(), partial, **options))
    print(f"wrote {args.output}")
    return 0

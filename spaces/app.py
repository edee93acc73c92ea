"""Gradio Space: extract the sounds a query names from a mixture, with context-aware query
refinement (Sato et al.). Shows what the model heard (class presence probabilities, the original
and the refined query) next to the extracted audio and the spectrograms.

    python spaces/app.py --host 127.0.0.1 --port 7860 [--model FOLDER_OR_HUB_ID] [--causal-model ...]

The model is `--model`, else `$QRTSE_MODEL`, else the checkpoint embedded in the `qrtse`
package. Without the package (a Space with only this folder and requirements.txt) the model is
loaded from the Hub as remote code, so `QRTSE_MODEL` must name a published repository.
The Live tab streams the microphone through a causal model (`live.py`): `--causal-model`, else
`$QRTSE_CAUSAL_MODEL`, else the served model when it is causal.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home from a demo

import argparse
import functools
import importlib
import tempfile

import gradio as gr
import live
import numpy as np
import pandas as pd
from example_mixtures import write_examples
from spectrograms import spectrogram_image

MODEL_ENV = "QRTSE_MODEL"
MAX_SECONDS = float(os.environ.get("QRTSE_MAX_SECONDS", "60"))  # CPU Spaces: keep requests short
# An upload is refused from its header, before decoding, beyond these (with MAX_SECONDS): 60 s of
# 8 channels at 96 kHz decodes to 176 MiB of float32.
UPLOAD_LIMITS = {"max_channels": 8, "max_sampling_rate": 192_000, "max_decoded_bytes": 256 * 2**20}
TOO_LONG_ADVICE = "trim it, or run `qrtse extract` locally (long files are chunked there)"
TOP_CLASSES = 10  # bars shown besides the queried classes
STATUS_COLOURS = {"kept": "#16a34a", "removed": "#dc2626", "queried": "#2563eb", "not queried": "#9ca3af"}


def resolve_model(model: str | None = None) -> str:
    """The model to serve: argument, environment, or the package's embedded checkpoint."""
    model = model or os.environ.get(MODEL_ENV)
    if model:
        return model
    try:
        from modeling_qrtse.default_checkpoint import default_model_available, default_model_path
    except ImportError:
        raise SystemExit(f"No model: pass --model or set {MODEL_ENV} to a saved folder or Hub repository id")
    if not default_model_available():
        raise SystemExit(
            f"The embedded checkpoint is missing ({default_model_path()}): pass --model or set {MODEL_ENV}"
        )
    return str(default_model_path())


@functools.cache
def load_extractor(model: str):
    """The target-sound-extraction pipeline, loaded once per process. The package's own classes
    when it is installed (no remote code runs), else the Hub repository's remote code."""
    from transformers import pipeline

    try:
        from modeling_qrtse.pipeline_qrtse import TASK, TargetSoundExtractionPipeline
    except ImportError:
        return pipeline(model=model, trust_remote_code=True)
    return pipeline(TASK, model=model, pipeline_class=TargetSoundExtractionPipeline)


def audio_inputs(extractor=None):
    """The package's input decoding and checks, `audio_inputs_qrtse`: from the installed package,
    else (a Space serving a Hub repository without the package) the copy that came with the
    repository's remote code, next to the loaded pipeline's module."""
    try:
        from modeling_qrtse import audio_inputs_qrtse
    except ImportError:
        if extractor is None:
            raise
        package = type(extractor).__module__.rpartition(".")[0]
        audio_inputs_qrtse = importlib.import_module(f"{package}.audio_inputs_qrtse")
        try:
            sibling_module(audio_inputs_qrtse, "resampling_qrtse")
        except ModuleNotFoundError:
            current = False
        else:
            current = hasattr(audio_inputs_qrtse, "check_audio_header")
        if not current:
            raise SystemExit(
                "The model repository's code predates the upload checks this Space relies on: publish it "
                "again (python -m qrtse.hub.push_model)"
            )
    return audio_inputs_qrtse


def sibling_module(module, name: str):
    """The shipped module `name` next to `module` (`audio_inputs_qrtse`, see `audio_inputs`): the
    package's, or the remote-code copy that came with the same model repository."""
    return importlib.import_module(f"{module.__name__.rpartition('.')[0]}.{name}")


def query_processor(extractor):
    """The pipeline's `QrtseProcessor`: the model's classes, and the one parser of the query the
    pipeline is given (names from the checkboxes or the API)."""
    processor = getattr(extractor, "processor", None)
    if not hasattr(processor, "encode_query"):
        raise SystemExit(
            "The model repository's code predates the query processor this Space relies on: publish it "
            "again (python -m qrtse.hub.push_model)"
        )
    return processor


def read_audio(path, rate: int, inputs=None) -> np.ndarray:
    """Mono float32 at `rate` from an uploaded or recorded file; `gr.Error` with the reason otherwise.
    Duration, channels and rate are checked from the header before anything is decoded
    (`inputs`: the `audio_inputs_qrtse` module, see `audio_inputs`). Messages name the file by its
    base name only: the server's temporary folders are nobody's business."""
    if not path:
        raise gr.Error("No audio: upload or record a mixture, or pick an example below.")
    inputs = inputs or audio_inputs()
    name = os.path.basename(path)
    try:
        audio, file_rate = inputs.read_file(
            path, name=name, max_seconds=MAX_SECONDS, too_long_advice=TOO_LONG_ADVICE, **UPLOAD_LIMITS
        )
    except inputs.AudioDecodeError as error:
        raise gr.Error(f"{error} Try WAV, FLAC, OGG or MP3.")
    except ValueError as error:
        raise gr.Error(f"{error}.")
    except OSError:
        raise gr.Error(f"Could not read the uploaded file {name}; upload it again.")
    if not np.isfinite(audio).all():
        raise gr.Error("The audio contains NaN or infinite samples.")
    if file_rate != rate:
        audio = sibling_module(inputs, "resampling_qrtse").resample(audio, file_rate, rate)
    return audio


def probability_table(probabilities: dict, query: list, refined: list, refine: bool) -> pd.DataFrame:
    """The bars: the most likely classes and every queried one, coloured by what refinement did."""
    if not probabilities:
        return pd.DataFrame({"class": [], "probability": [], "status": []})
    shown = list(probabilities)[:TOP_CLASSES] + [
        label for label in query if label not in list(probabilities)[:TOP_CLASSES]
    ]

    def status(label):
        if label not in query:
            return "not queried"
        if not refine:
            return "queried"
        return "kept" if label in refined else "removed"

    return pd.DataFrame(
        {"class": shown, "probability": [float(probabilities[c]) for c in shown], "status": [status(c) for c in shown]}
    )


def explanation(
    probabilities: dict, query: list, refined: list, theta, refine: bool, segments: dict | None = None
) -> str:
    """What happened to each queried class, in words (users should see why an output is silent).
    `theta`: one threshold, or `{class: theta}` for per-class thresholds. `segments` (per-frame
    refinement): where in the mixture each queried class was kept."""
    if not refine:
        return "Refinement off: every queried class is extracted, including ones the model does not hear."
    lines = []
    for label in query:
        p = probabilities.get(label) if probabilities else None
        heard = f"p = {p:.2f}" if p is not None else "oracle"
        class_theta = theta[label] if isinstance(theta, dict) else theta
        verdict = (
            f"kept ({heard} ≥ θ = {class_theta:.2f})"
            if label in refined
            else f"removed ({heard} < θ = {class_theta:.2f}: not heard)"
        )
        if segments is not None and label in refined:
            verdict += ", where it is heard: " + ", ".join(f"{a:.1f}–{b:.1f} s" for a, b in segments.get(label, []))
        lines.append(f"- **{label}**: {verdict}")
    if not refined:
        lines.append("\nNo queried class was detected, so the output is (close to) silence instead of a wrong sound.")
    return "\n".join(lines)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """16-bit PCM for the browser; scaled down only if the extraction would clip."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 1.0:
        audio = audio / peak
    return np.round(audio * 32767).astype(np.int16)


def per_class_thresholds(config) -> dict | None:
    """`{class: theta}` for a model whose config has `class_thresholds` (classes it does not
    name take `refinement_threshold`), else None. The rule of
    `modeling_qrtse.refinement_qrtse.class_threshold_map`, restated because the Space also runs
    from a Hub repository's remote code, without the package to import."""
    if not getattr(config, "class_thresholds", None):
        return None
    return {label: config.class_thresholds.get(label, config.refinement_threshold) for label in config.label2id}


# What the refinement radio shows -> the pipeline's `refinement`.
REFINEMENTS = {"Whole file": "file", "Per frame (only where each class is heard)": "frame"}


def make_extract(extractor):
    """The click handler bound to one loaded pipeline."""
    rate = extractor.feature_extractor.sampling_rate
    has_classifier = getattr(extractor.model, "classifier", None) is not None
    inputs = audio_inputs(extractor)

    config = extractor.model.config
    class_thetas = per_class_thresholds(config)

    def extract(audio_path, classes, theta, refine, refinement="file", per_class=False, progress=gr.Progress()):  # noqa: B008 - gradio's progress idiom
        """`per_class` (for a model with per-class thresholds): refine with those, not `theta`."""
        if not classes:
            raise gr.Error("Choose at least one target class to extract.")
        mixture = read_audio(audio_path, rate, inputs)
        if refine and not has_classifier:
            gr.Warning("This model has no classifier: the query is used as given.")
            refine = False
        if refinement not in REFINEMENTS.values():
            raise gr.Error(f"Refinement must be one of {list(REFINEMENTS.values())}, got {refinement!r}.")
        per_class = bool(per_class and class_thetas)
        progress(0.2, desc="Extracting")
        try:
            out = extractor(
                {"array": mixture, "sampling_rate": rate},
                query=list(classes),
                threshold=None if per_class else float(theta),
                refine=bool(refine),
                refinement=refinement,
            )
        except ValueError as error:
            raise gr.Error(str(error))
        progress(0.8, desc="Drawing spectrograms")
        probabilities = out["class_probabilities"] or {}
        return (
            (out["sampling_rate"], to_int16(out["audio"])),
            probability_table(probabilities, out["query"], out["refined_query"], refine),
            ", ".join(out["query"]),
            ", ".join(out["refined_query"]) if refine else ", ".join(out["query"]) + " (refinement off)",
            explanation(
                probabilities,
                out["query"],
                out["refined_query"],
                class_thetas if per_class else float(theta),
                refine,
                out.get("segments"),
            ),
            spectrogram_image(mixture, out["audio"], out["sampling_rate"]),
        )

    return extract


INTRO = """\
# Target sound extraction with context-aware query refinement

Pick the sounds to extract from a mixture. A classifier first estimates which classes are
present; queried classes it does not hear (probability below θ) are removed from the query
before extraction, so asking for an absent sound does not extract the wrong one
(Sato et al., *Context-Aware Query Refinement for Target Sound Extraction*).
"""


def build_demo(extractor, examples: list, model_name: str, live_model=None, live_name: str | None = None) -> gr.Blocks:
    """The Space: extraction from a file (the served pipeline) and, in the Live tab, from the
    microphone with `live_model`, a causal model (None: the tab says how to provide one)."""
    config = extractor.model.config
    labels = query_processor(extractor).labels
    theta = float(getattr(config, "refinement_threshold", 0.1))
    thetas = per_class_thresholds(config)
    with gr.Blocks(title="qrtse: target sound extraction", delete_cache=(3600, 3600)) as demo:
        default = (
            f"θ per class ({min(thetas.values()):.2f}–{max(thetas.values()):.2f})" if thetas else f"θ = {theta:.2f}"
        )
        gr.Markdown(INTRO + f"\nModel: `{model_name}`, {len(labels)} classes, default {default}.")
        with gr.Tabs():
            with gr.Tab("Extract a clip", id="clip"):
                build_extract_tab(extractor, examples, labels, theta, thetas is not None)
            with gr.Tab("Live", id="live"):
                live.build_live_tab(live_model, live_name, labels)
    return demo


def build_extract_tab(extractor, examples: list, labels: list, theta: float, has_class_thresholds: bool) -> None:
    """The first tab: a mixture and a query in, the extraction and what refinement did out."""
    with gr.Row():
        with gr.Column():
            mixture = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Mixture", elem_id="mixture")
            classes = gr.CheckboxGroup(choices=labels, label="Target classes (the query)", elem_id="classes")
            threshold = gr.Slider(0.0, 1.0, value=theta, step=0.01, label="Threshold θ", elem_id="threshold")
            # Shown only for a model with per-class thresholds; on, they replace the slider.
            per_class = gr.Checkbox(
                value=has_class_thresholds,
                visible=has_class_thresholds,
                label="Use the model's per-class θ (chosen on validation) instead of the slider",
                elem_id="per-class",
            )
            refine = gr.Checkbox(
                value=True,
                label="Query refinement (drop queried classes the model does not hear)",
                elem_id="refine",
            )
            refinement = gr.Radio(
                choices=list(REFINEMENTS.items()),
                value="file",
                label="Refinement in time",
                elem_id="refinement",
            )
            button = gr.Button("Extract", variant="primary", elem_id="extract")
        with gr.Column():
            extracted = gr.Audio(
                type="numpy", label="Extracted", interactive=False, buttons=["download"], elem_id="extracted"
            )
            with gr.Row():
                query_text = gr.Textbox(label="Query", interactive=False, elem_id="query")
                refined_text = gr.Textbox(label="Refined query", interactive=False, elem_id="refined-query")
            why = gr.Markdown(elem_id="explanation")
            bars = gr.BarPlot(
                x="class",
                y="probability",
                color="status",
                color_map=STATUS_COLOURS,
                colors_in_legend=list(STATUS_COLOURS),
                y_lim=[0, 1],
                sort="-y",
                x_label_angle=-40,
                label="Class presence probabilities",
                height=300,
                elem_id="probabilities",
            )
            spectrograms = gr.Image(type="numpy", label="Spectrograms", interactive=False, elem_id="spectrograms")
    if examples:
        gr.Examples(
            examples=[[e.path, list(e.query), theta, True, "file", has_class_thresholds] for e in examples],
            inputs=[mixture, classes, threshold, refine, refinement, per_class],
            example_labels=[e.description for e in examples],
            label="Example mixtures (rendered at start-up)",
        )
    button.click(
        make_extract(extractor),
        inputs=[mixture, classes, threshold, refine, refinement, per_class],
        outputs=[extracted, bars, query_text, refined_text, why, spectrograms],
        api_name="extract",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help=f"saved model folder or Hub id (default: ${MODEL_ENV}, else the embedded one)")
    parser.add_argument(
        "--causal-model",
        help=f"causal model folder or Hub id for the Live tab (default: ${live.CAUSAL_MODEL_ENV}, else --model if causal)",
    )
    parser.add_argument("--host", default=None, help="address to serve on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--concurrency", type=int, default=1, help="requests processed at once (others queue)")
    parser.add_argument("--max-queue", type=int, default=32, help="queued requests before new ones are refused")
    parser.add_argument("--examples-dir", help="where to render the example mixtures (default: a temporary folder)")
    args = parser.parse_args(argv)
    model = resolve_model(args.model)
    extractor = load_extractor(model)
    labels = query_processor(extractor).labels
    examples = write_examples(args.examples_dir or tempfile.mkdtemp(prefix="qrtse-examples-"), labels)
    live_model, live_name = live.causal_model_for(args.causal_model, extractor.model, model)
    demo = build_demo(extractor, examples, model, live_model, live_name)
    demo.queue(max_size=args.max_queue, default_concurrency_limit=args.concurrency)
    demo.launch(server_name=args.host, server_port=args.port, max_file_size="50mb")


if __name__ == "__main__":
    main()

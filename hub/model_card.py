"""The model card (README.md) of a published checkpoint, generated from its config and, when
given, the evaluation JSON of `python -m qrtse.training.evaluate` (`results.json`).

The metadata follows the Hub's conventions: `pipeline_tag: audio-to-audio` (the Hub has no
target-sound-extraction task), `library_name: transformers`, and a `model-index` with one metric
per query condition of the paper's Table 1 at the checkpoint's own threshold theta.
"""

from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .training_data import training_data

PAPER = (
    "*Context-Aware Query Refinement for Target Sound Extraction: Handling Partially Matched Queries* "
    "(Sato, Haruta, Hiruma, Imoto)"
)
# Table 1's query conditions "<n_active>:<n_inactive>", what they are called and how they are scored.
CONDITIONS = {
    "1:0": ("FMQ, 1 active : 0 inactive", "snri", "SNRi"),
    "1:1": ("PMQ, 1 active : 1 inactive", "snri", "SNRi"),
    "1:3": ("PMQ, 1 active : 3 inactive", "snri", "SNRi"),
    "0:1": ("FUQ, 0 active : 1 inactive", "a_mix", "A_mix"),
}
TAGS = ["target-sound-extraction", "source-separation", "audio", "query-refinement", "conv-tasnet", "custom_code"]
PREFERRED_QUERY = ("Trumpet", "Bark")  # the README demo's partially matched query


def select_system(results: dict, model_dir=None, system: str | None = None) -> str:
    """The results entry that describes the published checkpoint: `system` if given, else the
    one evaluated from `model_dir`, else `proposed`, else the only one."""
    systems = results["systems"]
    if system is not None:
        if system not in systems:
            raise ValueError(f"system {system!r} is not in the results; they hold {sorted(systems)}")
        return system
    if model_dir is not None:
        target = Path(model_dir).resolve()
        for name, summary in systems.items():
            if summary.get("path") and Path(summary["path"]).resolve() == target:
                return name
    if "proposed" in systems:
        return "proposed"
    if len(systems) == 1:
        return next(iter(systems))
    raise ValueError(f"pass --system: the results hold several systems {sorted(systems)}")


def setting_key(setting) -> str:
    """How `qrtse.training.evaluate` writes a refinement setting in a score key: `str(float)` or `oracle`."""
    return setting if isinstance(setting, str) else str(float(setting))


def card_threshold(results: dict, summary: dict, threshold: float) -> float:
    """The checkpoint's theta if it was evaluated, else the evaluated theta closest to it (0 without a classifier)."""
    if not summary.get("has_classifier"):
        return 0.0
    evaluated = [float(t) for t in results["thresholds"]]
    return min(evaluated, key=lambda t: abs(t - threshold)) if evaluated else 0.0


def eval_results(results: dict, system: str, theta: float, dataset_id: str, dataset_name: str) -> list:
    """One `EvalResult` per Table 1 condition at `theta`, plus macro F1 of the presence estimates."""
    summary = results["systems"][system]

    def entry(metric_type: str, metric_name: str, value: float) -> EvalResult:
        return EvalResult(
            task_type="audio-to-audio",
            task_name="Target sound extraction",
            dataset_type=dataset_id,
            dataset_name=dataset_name,
            dataset_split=results["split"],
            metric_type=metric_type,
            metric_name=metric_name,
            metric_value=value,
        )

    entries = []
    for condition, (label, metric, metric_label) in CONDITIONS.items():
        value = summary["scores"].get(f"{condition}|{setting_key(theta)}")
        if value is not None:
            entries.append(entry(metric, f"{metric_label} [dB], {label}, theta={theta:.2f}", round(float(value), 3)))
    f1 = summary.get("macro_f1", {}).get(setting_key(theta))
    if f1 is not None and summary.get("has_classifier"):
        entries.append(entry("f1", f"Macro F1 of class presence, theta={theta:.2f}", round(float(f1), 4)))
    return entries


def results_table(results: dict, system: str) -> str:
    """Markdown: one row per refinement setting the system was evaluated with, one column per condition."""
    summary = results["systems"][system]
    settings = [0.0] + ([float(t) for t in results["thresholds"] if float(t) > 0] if summary["has_classifier"] else [])
    settings.append(results.get("oracle", "oracle"))
    header = [f"{CONDITIONS[c][2]} {c} ({CONDITIONS[c][0].split(',')[0]}) [dB]" for c in CONDITIONS]
    lines = ["| Refinement | " + " | ".join(header) + " | Macro F1 |", "|---" * (len(header) + 2) + "|"]
    for setting in settings:
        key = setting_key(setting)
        if not any(f"{c}|{key}" in summary["scores"] for c in CONDITIONS):
            continue
        label = (
            "oracle classes"
            if isinstance(setting, str)
            else ("none (theta = 0)" if setting == 0 else f"theta = {setting:.2f}")
        )
        cells = [summary["scores"].get(f"{c}|{key}") for c in CONDITIONS]
        f1 = (
            summary.get("macro_f1", {}).get(key) if not isinstance(setting, str) and summary["has_classifier"] else None
        )
        row = [f"{v:.2f}" if v is not None else "-" for v in cells] + [f"{f1:.3f}" if f1 is not None else "-"]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def usage_snippet(repo_id: str, labels: list, threshold: float) -> str:
    query = [label for label in PREFERRED_QUERY if label in labels] or labels[:2]
    return f"""\
```python
from transformers import pipeline
import soundfile as sf

extractor = pipeline(model="{repo_id}", trust_remote_code=True)
out = extractor("mixture.wav", query={query!r}, threshold={threshold})
print(out["refined_query"])  # the queried classes the model detected in the mixture (eq. 7)
print(list(out["class_probabilities"].items())[:5])  # most likely classes present
sf.write("extracted.wav", out["audio"], out["sampling_rate"])
```"""


def model_card(
    config,
    repo_id: str,
    results: dict | None = None,
    system: str | None = None,
    model_dir=None,
    build_info: dict | None = None,
    dataset_repo_id: str | None = None,
    license_name: str | None = None,
) -> str:
    """The card's text. `config` is the checkpoint's `QrtseConfig`; `results` the parsed
    results.json; `build_info` the parsed `build_info.json` of the training data's build."""
    labels = [config.id2label[i] for i in range(config.num_labels)]
    theta = float(config.refinement_threshold)
    source = (build_info or {}).get("source")
    data = training_data(source)
    metadata = {
        "library_name": "transformers",
        "pipeline_tag": "audio-to-audio",
        "tags": TAGS,
        "license": license_name or "other",
        "datasets": [dataset_repo_id] if dataset_repo_id else None,
    }
    if metadata["license"] == "other":
        metadata.update(license_name="qrtse-weights", license_link="LICENSE.md")
    evaluation = "This checkpoint has not been evaluated yet (publish it with `--results results.json`)."
    if results is not None:
        system = select_system(results, model_dir, system)
        summary = results["systems"][system]
        card_theta = card_threshold(results, summary, theta)
        dataset_name = f"qrtse mixtures ({source or 'unknown source'}), {results['split']} split"
        metadata.update(
            model_name=repo_id.split("/")[-1],
            eval_results=eval_results(
                results, system, card_theta, dataset_repo_id or f"qrtse-{source or 'mixtures'}", dataset_name
            ),
        )
        evaluation = (
            f"System `{system}` on {summary.get('num_mixtures', 'the')} mixtures of the `{results['split']}` split "
            f"(`{results['data_dir']}`), inactive query classes seeded with {results['seed']}. SNRi: higher is "
            "better; A_mix (eq. 9, the output's power relative to the mixture when no queried class is present): "
            f"lower is better. The `model-index` above reports theta = {card_theta:.2f}.\n\n"
            + results_table(results, system)
            + f"\n\n{summary.get('parameters_m', 0):.2f} M parameters, {summary.get('gmacs_per_second', 0):.2f} GMAC per second of audio."
        )
    classes_used = (build_info or {}).get("class_names")
    body = (
        f"""
# {repo_id.split("/")[-1]}: target sound extraction with context-aware query refinement

A Conv-TasNet target sound extractor with a sound-event classifier on its shared features, after
{PAPER}. Given a mixture and a query (a set of class labels), the classifier estimates which
classes are present; query classes with probability below theta (here {theta:.2f}) are dropped
before the mask is estimated, so a query naming a sound that is absent (a *partially matched* query)
does not make the model extract the wrong thing. The pipeline reports the class presence
probabilities and the refined query, so you can see what the model heard.

## Usage

Needs `transformers`, `torch`, `soundfile` and `soxr` (no other package: the model and the
`target-sound-extraction` pipeline load as remote code).

{usage_snippet(repo_id, labels, theta)}

Any sample rate and channel count is accepted (resampled to {config.sampling_rate} Hz mono). Long
files are processed in chunks with bounded memory. `refine=False` uses the query as given.
`refinement="frame"` keeps each queried class only where the classifier hears it (the output's
`"segments"` say where), instead of for the whole file.

## Classes ({len(labels)})

{", ".join(f"`{label}`" for label in labels)}

## Evaluation

{evaluation}

## Training data

Trained on {data.title}.

{data.notes}
"""
        + (
            f"\nClasses present in the training data: {', '.join(f'`{c}`' for c in classes_used)}.\n"
            if classes_used
            else ""
        )
        + f"""
## Licence

{data.licence_summary}

## Citation

{PAPER}.
"""
    )
    card_data = ModelCardData(**{k: v for k, v in metadata.items() if v is not None})
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}").content

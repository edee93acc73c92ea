"""What `qrtse extract` prints: the detections and refined queries of one file, counts for a folder."""

import json

SUMMARY_KEYS = ("query", "refined_query", "chunks", "segments", "output", "sampling_rate")


def print_file_summary(outcome, mixture: str, example, config, args) -> None:
    """The classes detected in one file and, per query set, the refined query and the output."""
    summary = {
        "mixture": mixture,
        "example_classes": list(example.present) if example is not None else None,
        "threshold": None if args.no_refine else summary_threshold(config, args.threshold),
        "class_probabilities": outcome.class_probabilities,
        "targets": [{key: target[key] for key in SUMMARY_KEYS} for target in outcome.targets],
    }
    seconds = [target["seconds"] for target in outcome.targets]
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary, seconds))


def print_folder_summary(outcomes: list, report, as_json: bool) -> int:
    """Each failed input, then the counts; exit status 1 if any input failed."""
    failed = [(outcome.source, outcome.error) for outcome in outcomes if outcome.status == "failed"]
    for source, error in failed:
        print(f"failed: {source}: {error}")
    done = sum(outcome.status == "done" for outcome in outcomes)
    summary = {
        "inputs": len(outcomes),
        "done": done,
        "skipped": len(outcomes) - done - len(failed),
        "failed": len(failed),
        "report": str(report.path),
    }
    text = f"{done} extracted, {summary['skipped']} already done, {len(failed)} failed (report: {summary['report']})"
    print(json.dumps(summary) if as_json else text)
    return 1 if failed else 0


def summary_threshold(config, threshold: float | None) -> float | dict:
    """theta as the run used it: the one given, else the model's (`{class: theta}` where the
    model has per-class thresholds)."""
    from modeling_qrtse.refinement_qrtse import class_threshold_map

    if threshold is not None:
        return threshold
    return class_threshold_map(config) or config.refinement_threshold


def format_summary(summary: dict, seconds: list, top: int = 5) -> str:
    lines = [f"mixture: {summary['mixture']}"]
    if summary["example_classes"]:
        lines.append(f"  (example of real recordings; present: {', '.join(summary['example_classes'])})")
    probabilities = summary["class_probabilities"]
    threshold = summary["threshold"]
    if probabilities is None:
        lines.append("detected classes: (this model has no classifier)")
    else:
        cutoff = threshold if threshold is not None else 0.5
        per_class = isinstance(cutoff, dict)
        detected = [(label, p) for label, p in probabilities.items() if p >= (cutoff[label] if per_class else cutoff)]
        rule = "each class's theta" if per_class else f"{cutoff:g}"
        lines.append(f"detected classes (p >= {rule}):" + ("" if detected else " none"))
        lines += [f"  {label:<24} {p:.3f}" for label, p in detected[:top]]
        if len(detected) > top:
            lines.append(f"  ... and {len(detected) - top} more")
    for target, duration in zip(summary["targets"], seconds):
        lines.append("query:         " + ", ".join(target["query"]))
        removed = [label for label in target["query"] if label not in target["refined_query"]]
        refined = ", ".join(target["refined_query"]) or "(none: no queried class detected)"
        if removed and probabilities is not None:
            refined += "   removed: " + ", ".join(f"{label} (p = {probabilities[label]:.3f})" for label in removed)
        lines.append("refined query: " + refined)
        if summary["example_classes"]:
            lines.append("example check: " + example_verdict(target, summary["example_classes"]))
        for chunk in target["chunks"] or []:
            kept = ", ".join(chunk["refined_query"]) or "(none)"
            lines.append(f"  {chunk['start']:7.2f}-{chunk['end']:7.2f} s: {kept}")
        for label, segments in (target["segments"] or {}).items():
            spans = ", ".join(f"{start:.2f}-{end:.2f}" for start, end in segments) or "nowhere"
            lines.append(f"  {label} kept at {spans} s")
        lines.append(f"wrote {target['output']} ({duration:.2f} s at {target['sampling_rate']} Hz)")
    return "\n".join(lines)


def example_verdict(target: dict, present) -> str:
    """What refinement did with each queried class of an example, against what is really there."""
    words, right = [], True
    for label in target["query"]:
        kept = label in target["refined_query"]
        truth = label in present
        right &= kept == truth
        words.append(f"{'kept' if kept else 'dropped'} {label} ({'present' if truth else 'absent'})")
    return ", ".join(words) + (": right" if right else ": wrong")

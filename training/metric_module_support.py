"""What the `evaluate` metric modules in `metric_modules/` share: their info and their per-item
loop. The formulas themselves are `qrtse.training.metrics`, which `qrtse.training.evaluate` uses too."""

import datasets
import evaluate
import torch


def module_info(description: str, inputs_description: str, value_type: str = "float32") -> evaluate.MetricInfo:
    """Info of a module whose `predictions` and `references` are sequences of `value_type`."""
    sequence = datasets.Sequence(datasets.Value(value_type))
    return evaluate.MetricInfo(
        description=description,
        citation="",
        inputs_description=inputs_description,
        features=datasets.Features({"predictions": sequence, "references": sequence}),
    )


def waveform_scores(name: str, metric, *columns) -> dict:
    """`{name: mean, name_per_item: [...]}` of `metric(*tensors)` over items; every column holds
    one 1-D waveform per item, all of the same length within an item. `ValueError` naming the item
    for what `metric` refuses (empty, NaN/Inf, a silent reference: `qrtse.training.metrics`)."""
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"{name}: every input needs one waveform per item, got {[len(c) for c in columns]}")
    values = []
    for index, item in enumerate(zip(*columns)):
        if len({len(waveform) for waveform in item}) != 1:
            raise ValueError(f"{name}: the waveforms of an item must have the same length")
        try:
            values.append(float(metric(*(torch.as_tensor(w, dtype=torch.float64) for w in item))))
        except ValueError as error:
            raise ValueError(f"{name}: item {index}: {error}") from error
    return scores(name, values)


def scores(name: str, values: list) -> dict:
    """`{name: mean, name_per_item: values}`; `ValueError` when there is no item to score."""
    if not values:
        raise ValueError(f"{name}: no items to score (predictions and references are empty)")
    return {name: sum(values) / len(values), f"{name}_per_item": values}

"""The model's steps run in one place (issue 30): every caller (the forward pass, the long-form
engine in each refinement mode, the ONNX graph, the classifier-only training stage) reaches the
encoder, the shared features, the classifier, the mask and the decoder only through the model's
own `analyze` / `classify_items` / `extract`."""

import re
import sys
from pathlib import Path

import pytest
import torch

from modeling_qrtse.long_form_qrtse import extract_long_form
from modeling_qrtse.onnx_export import QrtseOnnxGraph
from qrtse.training.classifier_stage import ClassifierStage

STEPS = ("encode", "extract_shared_features", "classify", "estimate_mask", "decode")
OWNERS = {"analyze", "classify_items", "extract"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def counted(tiny_model, monkeypatch):
    """The tiny model with each step wrapped to record (step, the function that called it)."""
    calls = []
    for name in STEPS:
        original = getattr(tiny_model, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            calls.append((_name, sys._getframe(1).f_code.co_name))
            return _original(*args, **kwargs)

        monkeypatch.setattr(tiny_model, name, counting)
    return tiny_model, calls


def inputs(config, seconds=1.0, queries=1):
    generator = torch.Generator().manual_seed(0)
    waveform = torch.randn(2, round(seconds * config.sampling_rate), generator=generator)
    query = torch.zeros(2, queries, config.num_labels)
    query[:, :, 0] = 1
    query[1, :, 3] = 1
    return waveform, query


def callers(calls) -> dict:
    found = {}
    for step, caller in calls:
        found.setdefault(step, set()).add(caller)
    return found


def assert_owned(calls, expected_steps):
    found = callers(calls)
    assert set(found) == set(expected_steps)
    for step, names in found.items():
        assert names <= OWNERS, f"{step} called from {names - OWNERS}"


def test_forward_runs_each_step_from_the_model(counted):
    model, calls = counted
    waveform, query = inputs(model.config)
    with torch.no_grad():
        model(waveform, query, threshold=0.2)
    assert_owned(calls, STEPS)


@pytest.mark.parametrize("refinement", ["file", "chunk", "frame"])
def test_long_form_engine_runs_only_the_model_steps(counted, refinement):
    model, calls = counted
    waveform, query = inputs(model.config, seconds=3.0, queries=2)
    attention_mask = torch.ones_like(waveform, dtype=torch.long)
    attention_mask[1, -model.config.sampling_rate :] = 0  # one shorter item: padded chunks too
    with torch.no_grad():
        extract_long_form(
            model, waveform, query, attention_mask=attention_mask, refinement=refinement, chunk_length_s=0.5
        )
    assert_owned(calls, STEPS)
    # Several chunks, each analysed and extracted through the model.
    assert sum(step == "encode" for step, _ in calls) > 2


@pytest.mark.parametrize("refinement", ["file", "frame"])
def test_onnx_graph_wraps_the_model_steps(counted, refinement):
    model, calls = counted
    waveform, query = inputs(model.config)
    graph = QrtseOnnxGraph(model, 0.2, refinement)
    with torch.no_grad():
        extracted = graph(waveform, query[:, 0])[0]
        reference = extract_long_form(model, waveform, query, threshold=0.2, refinement=refinement, chunk_length_s=0)
    assert torch.allclose(extracted, reference.extracted_values[:, 0], atol=1e-5)
    assert_owned(calls, STEPS)


def test_classifier_stage_runs_the_trunk_and_classifier_through_the_model(counted):
    model, calls = counted
    waveform, _ = inputs(model.config)
    presence = torch.zeros(2, model.config.num_labels)
    ClassifierStage(model)(waveform, presence).backward()
    assert_owned(calls, ("encode", "extract_shared_features", "classify"))


def test_no_module_outside_the_model_calls_a_step():
    """The source-level half: only modeling_qrtse/modeling_qrtse.py names a step as a call on a model."""
    pattern = re.compile(r"\b(?:model|self|fast|reference)\.(?:" + "|".join(STEPS) + r")\(")
    offenders = []
    for folder in ("modeling_qrtse", "training", "hub", "spaces", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "modeling_qrtse.py":
                continue
            offenders += [
                f"{path.relative_to(ROOT)}: {line.strip()}"
                for line in path.read_text().splitlines()
                if pattern.search(line)
            ]
    assert offenders == []

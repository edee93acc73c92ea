"""How close can any bf16 forward bring a model's gradients to float32's? (issue 28, acceptance 1)

    python -m benchmarks.bf16_gradient_sensitivity --json results/benchmarks/bf16-gradient-sensitivity.json

For random tiny and small models (norms, PReLU slopes and biases off their initial values) and the
shipped model on a real example mixture, one training batch's gradients are compared, parameter
tensor by parameter tensor (cosine similarity), with the float32 fast path's (what
`qrtse.training.train` runs in float32). Contenders:

- `bf16-fused`: `optimize_for_training(dtype=torch.bfloat16)`, the project's mixed precision;
- `bf16-autocast`: the eager modules under PyTorch's own `torch.autocast("cpu", torch.bfloat16)`;
- `float32-input-in-bf16`: the float32 fast path whose input waveform alone was rounded to bf16
  once (every later operation in float32): what one bf16 rounding does, with none in the model;
- `float32-eager`: the eager modules in float32 (another summation order; the float32 floor);
- `float32-other-batch`: the float32 fast path on a different batch of the same kind, for scale:
  how much two minibatches' gradients differ anyway.

For each: the whole gradient's cosine, the lowest per-tensor cosine (and its tensor), and how many
tensors fall under 0.999.
"""

import argparse
import copy
import json
from pathlib import Path

import torch
from torch.nn import functional as F

from modeling_qrtse import QrtseConfig, QrtseModel, default_model_path
from modeling_qrtse.example_mixtures import example_mixture
from modeling_qrtse.kernels.gemm import native_bf16_available

BOUND = 0.999  # the per-tensor floor


def random_model(preset: str, seed: int = 0) -> QrtseModel:
    torch.manual_seed(seed)
    model = QrtseModel(QrtseConfig.from_preset(preset)).train()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "act" in name or "norm" in name or "bias" in name:
                parameter.add_(torch.randn_like(parameter) * 0.2)
    return model


def noise_batch(config, seed: int, batch: int = 2, seconds: float = 0.5) -> dict:
    generator = torch.Generator().manual_seed(seed)
    samples = int(seconds * config.sampling_rate)
    query = (torch.rand(batch, config.num_labels, generator=generator) < 0.2).float()
    query[:, 0] = 1
    return {
        "input_values": torch.randn(batch, samples, generator=generator) * 0.1,
        "query": query,
        "target_values": torch.randn(batch, samples, generator=generator) * 0.05,
        "presence_labels": (torch.rand(batch, config.num_labels, generator=generator) < 0.3).float(),
    }


def example_batch(config, number: int) -> dict:
    """Two seconds of a shipped example mixture, its present classes as query and labels."""
    example = example_mixture(number)
    mixture, _ = example.load()
    waveform = torch.as_tensor(mixture[: 2 * config.sampling_rate]).float()[None].repeat(2, 1)
    query = torch.zeros(2, config.num_labels)
    for label in example.present:
        query[:, config.label2id[label]] = 1
    return {"input_values": waveform, "query": query, "target_values": 0.5 * waveform, "presence_labels": query}


def gradients(model, inputs: dict, autocast: bool = False) -> dict:
    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = model(**inputs, threshold=0.0).loss
    loss.backward()
    return {name: p.grad.detach().float().clone() for name, p in model.named_parameters() if p.grad is not None}


def agreement(actual: dict, expected: dict) -> dict:
    """Whole-gradient cosine, the lowest per-tensor cosine and the tensors under the bound."""
    names = [name for name, gradient in expected.items() if gradient.numel() > 1]  # a scalar's cosine is its sign

    def cosine(first, second):
        return float(F.cosine_similarity(first.flatten().double(), second.flatten().double(), dim=0))

    per_tensor = {name: cosine(actual[name], expected[name]) for name in names}
    lowest = min(per_tensor, key=per_tensor.get)
    whole = cosine(torch.cat([actual[n].flatten() for n in names]), torch.cat([expected[n].flatten() for n in names]))
    return {
        "whole": round(whole, 6),
        "lowest": round(per_tensor[lowest], 6),
        "lowest_tensor": lowest,
        "under_bound": sum(value < BOUND for value in per_tensor.values()),
        "tensors": len(names),
    }


def measure(model: QrtseModel, inputs: dict, other_inputs: dict) -> dict:
    reference = gradients(copy.deepcopy(model).optimize_for_training(), inputs)
    rounded = dict(inputs, input_values=inputs["input_values"].bfloat16().float())
    contenders = {
        "bf16-fused": gradients(copy.deepcopy(model).optimize_for_training(dtype=torch.bfloat16), inputs),
        "bf16-autocast": gradients(copy.deepcopy(model), inputs, autocast=True),
        "float32-input-in-bf16": gradients(copy.deepcopy(model).optimize_for_training(), rounded),
        "float32-eager": gradients(copy.deepcopy(model), inputs),
        "float32-other-batch": gradients(copy.deepcopy(model).optimize_for_training(), other_inputs),
    }
    return {name: agreement(actual, reference) for name, actual in contenders.items()}


def format_rows(results: dict) -> str:
    lines = ["| model | contender | whole | lowest tensor | tensors < 0.999 |", "|---|---|---|---|---|"]
    for model_name, rows in results.items():
        for contender, row in rows.items():
            lines.append(
                f"| {model_name} | {contender} | {row['whole']:.5f} | {row['lowest']:.4f} (`{row['lowest_tensor']}`) "
                f"| {row['under_bound']} of {row['tensors']} |"
            )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--num-threads", type=int, default=None)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if not native_bf16_available():
        raise SystemExit("this CPU has no native bf16: the fused path would run float32")
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    results = {}
    for preset in args.presets:
        model = random_model(preset)
        results[f"random {preset}"] = measure(model, noise_batch(model.config, 1), noise_batch(model.config, 2))
    shipped = QrtseModel.from_pretrained(default_model_path()).train()
    results["shipped, example 1"] = measure(shipped, example_batch(shipped.config, 1), example_batch(shipped.config, 2))
    print(format_rows(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"bound": BOUND, "results": results}, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()

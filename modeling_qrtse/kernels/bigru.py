"""GRU layers with a hand-written backward, for training the classifier (eq. 6) on CPU: the BiGRU,
and the unidirectional GRU of a causal model (`QrtseConfig(causal=True)`) with the same code.

`nn.GRU` on CPU runs its recurrence in C++, but autograd then walks ~10 recorded ops per frame,
direction and layer backwards: on a 600-frame batch that was ~80% of the classifier's training
time. Here:

- the input projections of all frames, all directions, are one GEMM (forward and backward);
- the directions advance together, as a batch of two (`baddbmm`; a batch of one for a
  unidirectional GRU), so the loop has T steps, not 2T, and each forward step is six in-place ops;
- the backward recurrence carries only `dh`: every other per-step factor is precomputed for all
  frames at once, so a backward step is three ops;
- the recurrent weight gradients are one GEMM per direction after the loop;
- with `dtype=torch.bfloat16` the input projection's GEMMs (forward, input and weight gradient)
  run in bf16, products widened to float32; the recurrence stays float32 (its GEMVs are too small
  to gain, and rounding would compound over the frames).

Gate order and equations are PyTorch's (r, z, n; `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`,
`h' = (1 - z) * n + z * h`), so the parameters of an `nn.GRU` plug in unchanged.
"""

import torch
from torch import nn


def _steps(sequence: torch.Tensor) -> torch.Tensor:
    """`(batch, frames, directions, width)` -> `(frames, directions, batch, width)`, a second
    direction's frames reversed: step s of the backward direction reads frame T - 1 - s."""
    steps = sequence.new_empty(sequence.shape[1], sequence.shape[2], sequence.shape[0], sequence.shape[3])
    steps[:, 0] = sequence[:, :, 0].transpose(0, 1)
    if sequence.shape[2] == 2:
        steps[:, 1] = sequence[:, :, 1].flip(1).transpose(0, 1)
    return steps


def _frames(steps: torch.Tensor) -> torch.Tensor:
    """The inverse of [`_steps`]: `(frames, directions, batch, width)` -> `(batch, frames, directions, width)`."""
    sequence = steps.new_empty(steps.shape[2], steps.shape[0], steps.shape[1], steps.shape[3])
    sequence[:, :, 0] = steps[:, 0].transpose(0, 1)
    if steps.shape[1] == 2:
        sequence[:, :, 1] = steps[:, 1].flip(0).transpose(0, 1)
    return sequence


class GRULayer(torch.autograd.Function):
    """One GRU layer of D = 1 or 2 directions, zero initial state. `inputs (batch, frames, in)`,
    weights stacked over the directions: `weight_ih (D, 3H, in)`, `weight_hh (D, 3H, H)`, biases
    `(D, 3H)`. Returns `(batch, frames, D * H)`, forward direction first (as `nn.GRU`)."""

    @staticmethod
    def forward(ctx, inputs, weight_ih, weight_hh, bias_ih, bias_hh, dtype=torch.float32):
        batch, frames, width = inputs.shape
        directions, hidden = weight_hh.shape[0], weight_hh.shape[-1]
        # The input projection's operands as its GEMMs take them (rounded once; the same tensors in float32).
        low_inputs, low_weight_ih = inputs.to(dtype), weight_ih.to(dtype)
        if dtype == torch.float32:
            projected = torch.addmm(bias_ih.reshape(-1), inputs.reshape(-1, width), weight_ih.reshape(-1, width).t())
        else:
            product = low_inputs.reshape(-1, width) @ low_weight_ih.reshape(-1, width).t()
            projected = torch.add(bias_ih.reshape(-1), product)
        input_gates = _steps(projected.view(batch, frames, directions, 3 * hidden))
        states = inputs.new_empty(frames + 1, directions, batch, hidden)  # states[s] is h before step s
        states[0].zero_()
        hidden_gates = inputs.new_empty(frames, directions, batch, 3 * hidden)
        reset_update = inputs.new_empty(frames, directions, batch, 2 * hidden)
        candidates = inputs.new_empty(frames, directions, batch, hidden)
        recurrent, recurrent_bias = weight_hh.transpose(1, 2), bias_hh.unsqueeze(1)
        # Per-step views made once (`unbind`), not by indexing inside the loop.
        input_reset_update = input_gates[..., : 2 * hidden].unbind(0)
        input_candidate = input_gates[..., 2 * hidden :].unbind(0)
        gates, gates_reset_update = hidden_gates.unbind(0), hidden_gates[..., : 2 * hidden].unbind(0)
        gates_candidate = hidden_gates[..., 2 * hidden :].unbind(0)
        reset, update = reset_update[..., :hidden].unbind(0), reset_update[..., hidden:].unbind(0)
        step_states, step_reset_update, step_candidates = states.unbind(0), reset_update.unbind(0), candidates.unbind(0)
        for step in range(frames):
            torch.baddbmm(recurrent_bias, step_states[step], recurrent, out=gates[step])
            torch.add(input_reset_update[step], gates_reset_update[step], out=step_reset_update[step]).sigmoid_()
            torch.addcmul(input_candidate[step], reset[step], gates_candidate[step], out=step_candidates[step]).tanh_()
            torch.lerp(step_candidates[step], step_states[step], update[step], out=step_states[step + 1])
        ctx.save_for_backward(low_inputs, low_weight_ih, weight_hh, states, hidden_gates, reset_update, candidates)
        return _frames(states[1:]).view(batch, frames, directions * hidden)

    @staticmethod
    def backward(ctx, grad_output):
        low_inputs, low_weight_ih, weight_hh, states, hidden_gates, reset_update, candidates = ctx.saved_tensors
        batch, frames, width = low_inputs.shape
        directions, hidden = weight_hh.shape[0], weight_hh.shape[-1]
        grad_steps = _steps(grad_output.reshape(batch, frames, directions, hidden))
        reset, update = reset_update[..., :hidden], reset_update[..., hidden:]
        # d(candidate pre-activation) = dh * (1 - z) * (1 - n^2)
        candidate_factor = (1 - update) * (1 - candidates * candidates)
        # d(hidden gates) = dh * factors, for the r, z and n parts: precomputed for every step.
        factors = states.new_empty(frames, directions, batch, 3, hidden)
        factors[..., 0, :] = candidate_factor * hidden_gates[..., 2 * hidden :] * reset * (1 - reset)
        factors[..., 1, :] = (states[:-1] - candidates) * update * (1 - update)
        factors[..., 2, :] = candidate_factor * reset
        grad_hidden_gates = states.new_empty(frames, directions, batch, 3 * hidden)
        grad_states = states.new_empty(frames, directions, batch, hidden)  # dL/dh after each step
        grad_states[frames - 1] = grad_steps[frames - 1]
        step_factors, step_update, step_grads = factors.unbind(0), update.unbind(0), grad_steps.unbind(0)
        step_grad_states = grad_states.unbind(0)
        step_grad_gates = grad_hidden_gates.view(frames, directions, batch, 3, hidden).unbind(0)
        step_grad_gates_flat = grad_hidden_gates.unbind(0)
        for step in range(frames - 1, -1, -1):
            torch.mul(step_factors[step], step_grad_states[step].unsqueeze(2), out=step_grad_gates[step])
            if step == 0:
                break
            # dh_{s-1} = output grad + dh_s * z_s + d(hidden gates)_s @ W_hh
            previous = step_grad_states[step - 1]
            torch.addcmul(step_grads[step - 1], step_grad_states[step], step_update[step], out=previous)
            previous.baddbmm_(step_grad_gates_flat[step], weight_hh)
        grad_input_gates = grad_hidden_gates.clone()
        grad_input_gates[..., 2 * hidden :] = grad_states * candidate_factor
        grad_weight_hh = torch.stack(
            [
                grad_hidden_gates[:, d].reshape(-1, 3 * hidden).t().mm(states[:-1, d].reshape(-1, hidden))
                for d in range(directions)
            ]
        )
        grad_bias_hh = grad_hidden_gates.sum((0, 2))
        grad_projected = _frames(grad_input_gates).view(batch * frames, directions * 3 * hidden)
        grad_bias_ih = grad_projected.sum(0).view(directions, 3 * hidden)
        low_grad = grad_projected.to(low_inputs.dtype)  # no copy in float32
        grad_weight_ih = low_grad.t().mm(low_inputs.reshape(-1, width)).float().view(directions, 3 * hidden, width)
        grad_inputs = low_grad.mm(low_weight_ih.reshape(-1, width)).float().view(batch, frames, width)
        return grad_inputs, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh, None


def gru_forward(gru: nn.GRU, sequence: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """`gru(sequence)[0]` for a batch-first, bias-carrying `nn.GRU` without dropout, bidirectional
    or not, from a zero state; `dtype` of the input projections' GEMMs (float32 or bfloat16)."""
    suffixes = ("", "_reverse") if gru.bidirectional else ("",)
    for layer in range(gru.num_layers):
        directions = {
            name: torch.stack([getattr(gru, f"{name}_l{layer}{suffix}") for suffix in suffixes])
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
        sequence = GRULayer.apply(
            sequence.contiguous(),
            directions["weight_ih"],
            directions["weight_hh"],
            directions["bias_ih"],
            directions["bias_hh"],
            dtype,
        )
    return sequence

"""The causal form of a trained model (issue 31): the same configuration with `causal=True`, started
from the trained weights wherever they carry over, as a causal model's training starts.

The encoder, both TCNs, the query embedding and the decoder keep their tensors (the causal depthwise
convolutions have the same taps, applied to the past only: each block then reads its input a few
frames later than it was trained to, which training has to correct). The classifier starts fresh:
a unidirectional GRU has other shapes, and its output layer read the two directions' halves.
"""

import torch

KEPT_PARTS = ("encoder.", "shared_extractor.", "query_embedding.", "mask_estimator.", "decoder.")


def causal_form(model, seed: int = 0):
    """A new causal model initialised from `model` (a `QrtseModel`; already causal is fine)."""
    config = model.config.__class__.from_dict({**model.config.to_dict(), "causal": True})
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream untouched
        torch.manual_seed(seed)
        causal = model.__class__(config)
    state = causal.state_dict()
    for name, tensor in model.state_dict().items():
        if name.startswith(KEPT_PARTS):
            state[name] = tensor.clone()
    causal.load_state_dict(state)
    return causal

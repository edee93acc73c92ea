"""A_mix (paper eq. 9): how far an output is attenuated relative to its mixture, for queries whose
classes are all absent (FUQ); lower is closer to silence (qrtse).

    a_mix = evaluate.load("path/to/a_mix")
    a_mix.compute(predictions=[estimate], references=[mixture])  # {"a_mix": mean dB, ...}

Computed by `qrtse.training.metrics.mixture_attenuation` (floored at -120 dB for exact
silence), the function `qrtse.training.evaluate` scores Table 1 with (`pip install qrtse`).
"""

import evaluate

from qrtse.training.metric_module_support import module_info, waveform_scores
from qrtse.training.metrics import mixture_attenuation

_DESCRIPTION = "A_mix = -10 log10(|x|^2 / |s_hat|^2) in dB per item (eq. 9), floored at -120 dB, and its mean."
_KWARGS_DESCRIPTION = """
Args:
    predictions: the outputs for a fully unmatched query, one 1-D float sequence per item.
    references: the mixtures, the same lengths; not silent (A_mix relative to silence is undefined).
Returns:
    a_mix: mean A_mix in dB; a_mix_per_item: one value per item.
Raises:
    ValueError, naming the item: no items, an empty waveform, NaN/Inf samples, a silent mixture.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AMix(evaluate.Metric):
    def _info(self):
        return module_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references):
        return waveform_scores("a_mix", mixture_attenuation, predictions, references)

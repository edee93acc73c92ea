"""SNRi: the SNR improvement of an extracted signal over the unprocessed mixture (qrtse, paper Section 4.1).

    import evaluate
    snri = evaluate.load("path/to/snri")  # or the published repository
    snri.compute(predictions=[estimate], references=[target], mixtures=[mixture])
    # {"snri": mean dB, "snri_per_item": [...]}

Computed by `qrtse.training.metrics.snr_improvement`, the function `qrtse.training.evaluate` scores
Table 1 with (`pip install qrtse`).
"""

import evaluate

from qrtse.training.metric_module_support import module_info, waveform_scores
from qrtse.training.metrics import snr_improvement

_DESCRIPTION = "SNRi = SNR(estimate, target) - SNR(mixture, target), in dB, per item and averaged."
_KWARGS_DESCRIPTION = """
Args:
    predictions: extracted waveforms, one 1-D float sequence per item.
    references: target waveforms, the same lengths; not silent (SNR against silence is undefined:
        score an all-zero target, a query of absent classes, with a_mix instead).
    mixtures: the unprocessed mixtures, the same lengths.
Returns:
    snri: mean SNRi in dB; snri_per_item: one value per item.
Raises:
    ValueError, naming the item: no items, an empty waveform, NaN/Inf samples, a silent reference.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Snri(evaluate.Metric):
    def _info(self):
        return module_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, mixtures):
        return waveform_scores("snri", snr_improvement, predictions, references, mixtures)

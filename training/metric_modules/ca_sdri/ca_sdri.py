"""CA-SDRi, the class-aware SDRi of DCASE 2025 Task 4: extraction quality with wrong keep / drop
decisions penalised (qrtse).

    ca_sdri = evaluate.load("path/to/ca_sdri")
    ca_sdri.compute(predictions=[["Bark"]], references=[["Bark", "Meow"]], sdri=[{"Bark": 9.5, "Meow": 7.0}])
    # per mixture: sum of SDRi over present and detected classes / |present or detected|

Computed by `qrtse.training.metrics.class_aware_sdri`, the function `qrtse.training.evaluate` scores
with (`pip install qrtse`).
"""

import evaluate

from qrtse.training.metric_module_support import module_info, scores
from qrtse.training.metrics import class_aware_sdri

_DESCRIPTION = (
    "CA-SDRi per mixture: the SDRi of each class both present and detected, summed and divided by the number of "
    "classes present or detected (a missed or a wrongly kept class counts 0); and its mean over mixtures."
)
_KWARGS_DESCRIPTION = """
Args:
    predictions: per mixture, the classes the system detected (kept and extracted), a list of labels.
    references: per mixture, the classes present (among those asked for), a list of labels.
    sdri: per mixture, a dict mapping every present class to the SDRi of its extraction in dB.
Returns:
    ca_sdri: mean CA-SDRi in dB; ca_sdri_per_item: one value per mixture (0 when a mixture has no
        class present or detected).
Raises:
    ValueError: no mixtures, a present class without SDRi, a NaN/Inf SDRi that counts.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CaSdri(evaluate.Metric):
    def _info(self):
        return module_info(_DESCRIPTION, _KWARGS_DESCRIPTION, "string")

    def _compute(self, predictions, references, sdri):
        if len(sdri) != len(predictions):
            raise ValueError(f"got {len(predictions)} predictions but {len(sdri)} sdri dicts")
        values = []
        for index, (detected, present, per_class) in enumerate(zip(predictions, references, sdri)):
            missing = set(present) - set(per_class)
            if missing:
                raise ValueError(f"sdri has no value for the present classes {sorted(missing)}")
            try:
                values.append(class_aware_sdri(per_class, present, detected))
            except ValueError as error:
                raise ValueError(f"ca_sdri: item {index}: {error}") from error
        return scores("ca_sdri", values)

"""Extraction over a `datasets.Dataset`: an audio column in, a dataset with the extracted audio out.

    from modeling_qrtse.dataset_extraction_qrtse import extract_dataset
    extracted = extract_dataset(extractor, dataset, query=["Bark"], residual_column="residual")

Package only (not remote code): datasets and soundfile are imported when called.
"""

import io
import logging

from .audio_inputs_qrtse import INPUT_ERRORS

logger = logging.getLogger(__name__)

AUDIO_SUBTYPE = "PCM_16"


def _encoded(audio, sampling_rate: int) -> dict:
    """A datasets audio value holding 16-bit WAV bytes (what `Audio(decode=False)` stores);
    encoded here so that no audio codec library is needed to build the dataset."""
    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(audio, -1.0, 1.0), sampling_rate, subtype=AUDIO_SUBTYPE, format="WAV")
    return {"bytes": buffer.getvalue(), "path": None}


def extract_dataset(
    extractor,
    dataset,
    query,
    audio_column: str = "audio",
    output_column: str = "extracted",
    residual_column: str | None = None,
    error_column: str = "extraction_error",
    **call_options,
):
    """`dataset` with `output_column` (the extracted audio, 16-bit WAV at the output rate),
    `refined_query` and `class_probabilities` (a JSON string) added, and `residual_column` (the
    mixture minus the target) when given. A row's own "query" column, if any, overrides `query`.
    The audio column is read undecoded (bytes or path), so no decoder library is needed.

    A row that fails (corrupt, truncated or missing audio, an unknown class in its query) does not
    stop the others: its `error_column` holds `"ExceptionType: message"` and its output columns
    are None; `error_column` is None for every row that was extracted. A warning counts the
    failed rows.

    Raises `ValueError` when `audio_column` is missing or an output column already exists."""
    import json

    from datasets import Audio, Features, Value

    if audio_column not in dataset.column_names:
        raise ValueError(f"dataset has no column {audio_column!r}; its columns are {dataset.column_names}")
    added = [output_column, "refined_query", "class_probabilities", error_column]
    added += [residual_column] if residual_column else []
    clashes = [name for name in added if name in dataset.column_names]
    if clashes:
        raise ValueError(f"dataset already has the columns {clashes}; choose other output column names")
    if isinstance(dataset.features[audio_column], Audio):
        dataset = dataset.cast_column(audio_column, Audio(decode=False))

    def extract(row):
        value = row[audio_column] or {}
        value = {"path": value} if isinstance(value, str) else value  # a column of file paths
        try:
            if not (value.get("bytes") or value.get("path")):
                raise ValueError("the row has no audio")
            result = extractor(
                value["bytes"] if value.get("bytes") else value["path"],
                query=row.get("query") or query,
                return_residual=bool(residual_column),
                **call_options,
            )
        except INPUT_ERRORS as error:  # recorded in the row; the other rows go on
            return dict.fromkeys(added) | {error_column: f"{type(error).__name__}: {error}"}
        out = {
            output_column: _encoded(result["audio"], result["sampling_rate"]),
            "refined_query": result["refined_query"],
            "class_probabilities": json.dumps(result["class_probabilities"]),
            error_column: None,
        }
        if residual_column:
            out[residual_column] = _encoded(result["residual"], result["sampling_rate"])
        return out

    # Declared, not inferred: a failed row's None must not decide a column's type.
    features = Features(
        {
            **dataset.features,
            output_column: Audio(decode=False),
            "refined_query": [Value("string")],
            "class_probabilities": Value("string"),
            error_column: Value("string"),
            **({residual_column: Audio(decode=False)} if residual_column else {}),
        }
    )
    extracted = dataset.map(extract, features=features, desc="extract")
    failed = sum(error is not None for error in extracted[error_column])
    if failed:
        logger.warning(f"{failed} of {len(extracted)} rows failed; column {error_column!r} says why")
    return extracted

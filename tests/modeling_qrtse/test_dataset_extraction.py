import io
import json

import numpy as np
import pytest
import soundfile as sf
from datasets import Audio, Dataset
from pipeline_helpers import noise, wav_bytes

from modeling_qrtse.dataset_extraction_qrtse import extract_dataset


@pytest.fixture
def dataset():
    rows = [{"bytes": wav_bytes(noise(0.5 + 0.1 * i, 16000, seed=i), 16000), "path": None} for i in range(3)]
    data = Dataset.from_dict({"audio": rows, "query": [None, ["Meow"], None]})
    return data.cast_column("audio", Audio(decode=False))


def decoded(value):
    return sf.read(io.BytesIO(value["bytes"]), dtype="float32")


def test_extracted_audio_and_residual_columns(tiny_pipeline, dataset):
    out = extract_dataset(tiny_pipeline, dataset, query=["Bark"], residual_column="residual", threshold=0.0)
    assert {"extracted", "residual", "refined_query", "class_probabilities"} <= set(out.column_names)
    for index, row in enumerate(out):
        mixture, _ = decoded(dataset[index]["audio"])
        target, rate = decoded(row["extracted"])
        residual, _ = decoded(row["residual"])
        direct = tiny_pipeline(
            dataset[index]["audio"]["bytes"], query=["Meow"] if index == 1 else ["Bark"], threshold=0.0
        )
        assert rate == 16000 and len(target) == len(mixture)
        np.testing.assert_allclose(target, np.round(direct["audio"] * 32767) / 32767, atol=2 / 32768)
        assert np.abs(target + residual - mixture).max() <= 1.5 / 32768
        assert row["refined_query"] == (["Meow"] if index == 1 else ["Bark"])
        assert set(json.loads(row["class_probabilities"])) == set(tiny_pipeline.model.config.label2id)


def test_bad_columns_are_refused(tiny_pipeline, dataset):
    with pytest.raises(ValueError, match="no column 'sound'"):
        extract_dataset(tiny_pipeline, dataset, query=["Bark"], audio_column="sound")
    with pytest.raises(ValueError, match="already has the columns"):
        extract_dataset(tiny_pipeline, dataset, query=["Bark"], output_column="query")


def test_a_failing_row_is_recorded_and_the_others_go_on(tiny_pipeline, dataset, caplog):
    good = dataset[0]["audio"]["bytes"]
    rows = [
        {"bytes": good, "path": None},
        {"bytes": good[: len(good) // 3], "path": None},  # truncated
        {"bytes": b"not audio at all", "path": None},
        {"bytes": good, "path": None},
    ]
    data = Dataset.from_dict({"audio": rows, "query": [None, None, None, ["Dgo"]]}).cast_column(
        "audio", Audio(decode=False)
    )
    out = extract_dataset(tiny_pipeline, data, query=["Bark"], residual_column="residual", threshold=0.0)
    assert len(out) == 4
    errors = out["extraction_error"]
    assert errors[0] is None and out[0]["refined_query"] == ["Bark"]
    assert errors[1].startswith("ValueError: audio bytes (") and " is truncated: " in errors[1]
    assert errors[2].startswith("AudioDecodeError: Could not decode audio bytes (16 bytes)")
    assert errors[3].startswith("ValueError: Unknown class 'Dgo'")
    for index in (1, 2, 3):
        row = out[index]
        assert row["extracted"] is None and row["residual"] is None and row["refined_query"] is None
    assert "3 of 4 rows failed" in caplog.text

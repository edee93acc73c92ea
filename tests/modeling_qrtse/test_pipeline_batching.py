"""Lists, batches, generators and datasets: results in order, one per input, streamed when asked."""

import types

import datasets
import numpy as np
import pytest
from pipeline_helpers import noise, wav_bytes

from modeling_qrtse.chunking_qrtse import context_samples
from modeling_qrtse.long_form_qrtse import CROSSFADE_S

QUERY = ["Trumpet", "Bark"]


def inputs():
    """Different lengths, rates and channel counts."""
    return [
        noise(0.7, seed=1),
        {"array": noise(0.4, 44100, 2, seed=2), "sampling_rate": 44100},
        noise(1.0, seed=3),
        {"array": noise(0.3, 8000, seed=4), "sampling_rate": 8000},
        noise(0.9, seed=5),
    ]


def test_list_returns_a_list_in_order(tiny_pipeline):
    singles = [tiny_pipeline(item, query=QUERY) for item in inputs()]
    outs = tiny_pipeline(inputs(), query=QUERY)
    assert isinstance(outs, list) and len(outs) == 5
    for out, single in zip(outs, singles):
        np.testing.assert_array_equal(out["audio"], single["audio"])


@pytest.mark.parametrize("batch_size", [2, 5])
def test_batches_match_single_items(tiny_pipeline, batch_size):
    singles = [tiny_pipeline(item, query=QUERY, refine=False) for item in inputs()]
    outs = tiny_pipeline(inputs(), query=QUERY, refine=False, batch_size=batch_size)
    # A padded item differs from its single run only within one context of its own end.
    context = context_samples(tiny_pipeline.model.config, round(CROSSFADE_S * 16000))
    for out, single in zip(outs, singles):
        assert out["audio"].shape == single["audio"].shape
        assert out["query"] == single["query"] and out["refined_query"] == single["refined_query"]
        np.testing.assert_allclose(out["audio"][:-context], single["audio"][:-context], atol=1e-5)
        assert np.isfinite(out["audio"]).all()


def test_batched_classification_ignores_padding(tiny_pipeline):
    singles = [tiny_pipeline(item, query=QUERY) for item in inputs()]
    outs = tiny_pipeline(inputs(), query=QUERY, batch_size=5)
    for out, single in zip(outs, singles):
        for label, p in single["class_probabilities"].items():
            assert out["class_probabilities"][label] == pytest.approx(p, abs=0.05)


def test_batches_of_long_inputs_are_chunked(tiny_pipeline):
    items = [noise(5.0, seed=1), noise(2.5, seed=2), noise(0.2, seed=3)]
    outs = tiny_pipeline(items, query=QUERY, refine=False, batch_size=3, chunk_length_s=1.0)
    for out, item in zip(outs, items):
        single = tiny_pipeline(item, query=QUERY, refine=False, chunk_length_s=0)["audio"]
        assert len(out["audio"]) == len(item)
        np.testing.assert_allclose(out["audio"][:-800], single[:-800], atol=1e-4)


def test_batches_with_per_item_queries_and_chunk_refinement(tiny_pipeline):
    rows = [
        {"audio": {"array": noise(3.0, seed=1), "sampling_rate": 16000}, "query": [["Bark"], ["Meow", "Trumpet"]]},
        {"audio": {"array": noise(1.2, seed=2), "sampling_rate": 16000}, "query": ["Cello"]},
    ]
    outs = tiny_pipeline(rows, batch_size=2, chunk_length_s=1.0, refinement="chunk")
    assert [o["query"] for o in outs[0]] == [["Bark"], ["Meow", "Trumpet"]]
    assert outs[1]["query"] == ["Cello"]
    # Each item is cut by its own chunk plan, as when alone: 1.2 s fits one chunk, so it lists none.
    assert "chunks" not in outs[1]
    assert [c["end"] for c in outs[0][0]["chunks"]] == [1.0, 2.0, 3.0]


def test_generator_streams_results(tiny_pipeline):
    consumed = []

    def generate():
        for index, item in enumerate(inputs()):
            consumed.append(index)
            yield item

    results = tiny_pipeline(generate(), query=QUERY, batch_size=2)
    assert isinstance(results, types.GeneratorType) or hasattr(results, "__next__")
    first = next(iter(results))
    assert "audio" in first and len(consumed) < 5  # not everything was read up front
    assert len([first, *results]) == 5


def test_dataset_streams_results(tiny_pipeline, tmp_path):
    paths = []
    for index, item in enumerate(inputs()[:3]):
        array, rate = (item["array"], item["sampling_rate"]) if isinstance(item, dict) else (item, 16000)
        path = tmp_path / f"clip{index}.wav"
        path.write_bytes(wav_bytes(array, rate))
        paths.append(str(path))
    dataset = datasets.Dataset.from_dict({"audio": paths, "query": [["Bark"], ["Meow"], ["Bark", "Meow"]]})
    dataset = dataset.cast_column("audio", datasets.Audio(decode=False))  # {"bytes", "path"} values
    results = tiny_pipeline(dataset, batch_size=2)
    assert not isinstance(results, list)
    outs = list(results)
    assert [out["query"] for out in outs] == [["Bark"], ["Meow"], ["Bark", "Meow"]]
    for out, path, query in zip(outs, paths, dataset["query"]):
        np.testing.assert_allclose(out["audio"][:-800], tiny_pipeline(path, query=query)["audio"][:-800], atol=1e-5)

"""Query parsing (names, indices, multi-hot, several targets) and query refinement (eq. 7)."""

import numpy as np
import pytest
import torch
from pipeline_helpers import make_pipeline, noise

from modeling_qrtse import FSD_KAGGLE_2018_LABELS, QrtseConfig
from modeling_qrtse.query_qrtse import parse_query, suggest_labels

LABEL2ID = {label: index for index, label in enumerate(FSD_KAGGLE_2018_LABELS)}
BARK, TRUMPET, MEOW = LABEL2ID["Bark"], LABEL2ID["Trumpet"], LABEL2ID["Meow"]


def expected(*indices):
    vector = np.zeros(len(LABEL2ID), np.float32)
    vector[list(indices)] = 1
    return vector


@pytest.mark.parametrize(
    "query",
    [
        ["Trumpet", "Bark"],
        ("bark", "TRUMPET"),
        ["trumpet", BARK],
        [TRUMPET, BARK],
        expected(TRUMPET, BARK),
        torch.from_numpy(expected(TRUMPET, BARK)),
    ],
)
def test_one_query_set_in_every_form(query):
    multi_hot, several = parse_query(query, LABEL2ID)
    assert not several
    np.testing.assert_array_equal(multi_hot, expected(TRUMPET, BARK)[None])


@pytest.mark.parametrize("query", [[str(TRUMPET), str(BARK)], [f" {TRUMPET} ", "bark"], [str(TRUMPET), BARK]])
def test_digit_strings_are_class_indices(query):
    """What `qrtse extract -q 26` passes: the help says queries are names or indices."""
    np.testing.assert_array_equal(parse_query(query, LABEL2ID)[0], expected(TRUMPET, BARK)[None])


@pytest.mark.parametrize("query", [["41"], ["-1"], "99"])
def test_digit_strings_out_of_range(query):
    with pytest.raises(ValueError, match=r"class index -?\d+ is out of range: the model has 41 classes \(0-40\)"):
        parse_query(query, LABEL2ID)


def test_a_label_made_of_digits_is_read_as_that_label():
    label2id = {"808": 0, "909": 1, "Bark": 2}
    np.testing.assert_array_equal(parse_query(["909"], label2id)[0][0], [0, 1, 0])
    np.testing.assert_array_equal(parse_query(["2"], label2id)[0][0], [0, 0, 1])


def test_labels_are_case_and_separator_insensitive():
    np.testing.assert_array_equal(parse_query("acoustic guitar", LABEL2ID)[0][0], expected(LABEL2ID["Acoustic_guitar"]))
    np.testing.assert_array_equal(parse_query("hi hat", LABEL2ID)[0][0], expected(LABEL2ID["Hi-hat"]))


@pytest.mark.parametrize(
    "query", [[["Trumpet"], ["Bark", "Meow"]], np.stack([expected(TRUMPET), expected(BARK, MEOW)])]
)
def test_several_query_sets(query):
    multi_hot, several = parse_query(query, LABEL2ID)
    assert several
    np.testing.assert_array_equal(multi_hot, np.stack([expected(TRUMPET), expected(BARK, MEOW)]))


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("dog", "Bark"),
        ("dogs", "Bark"),
        ("cat", "Meow"),
        ("trumpt", "Trumpet"),
        ("guitar", "Acoustic_guitar"),
        ("violin", "Violin_or_fiddle"),
    ],
)
def test_unknown_names_get_suggestions(name, suggestion):
    assert suggestion in suggest_labels(name, list(LABEL2ID))
    with pytest.raises(ValueError, match=f"Unknown class '{name}'.*{suggestion}"):
        parse_query([name], LABEL2ID)


def test_suggestions_respect_the_model_vocabulary():
    assert suggest_labels("dog", ["Meow", "Trumpet"]) == []


@pytest.mark.parametrize(
    "query, message",
    [
        (None, "No query"),
        ([], "names no class"),
        ("", "names no class"),
        (np.zeros(41), "names no class"),
        ([99], "out of range"),
        (np.ones(40), "shape"),
        (np.full(41, 0.5), "only 0 and 1"),
        ([["Bark"], "Meow"], "Mix of query sets"),
        ([1.5], "label names or class indices"),
    ],
)
def test_bad_queries(query, message):
    with pytest.raises(ValueError, match=message):
        parse_query(query, LABEL2ID)


def test_pipeline_takes_indices_as_strings(tiny_pipeline):
    by_index = tiny_pipeline(noise(0.2), query=[str(BARK)], oracle_classes=[str(BARK)])
    assert by_index["query"] == by_index["refined_query"] == ["Bark"]


def test_pipeline_rejects_bad_queries_at_call_time(tiny_pipeline):
    with pytest.raises(ValueError, match="Did you mean 'Bark'"):
        tiny_pipeline(noise(0.2), query=["dog"])
    with pytest.raises(ValueError, match="names no class"):
        tiny_pipeline(noise(0.2), query=[])
    with pytest.raises(ValueError, match="No query"):
        tiny_pipeline(noise(0.2))


def test_several_targets_in_one_call(tiny_pipeline):
    audio = noise(0.5)
    outs = tiny_pipeline(audio, query=[["Trumpet"], ["Bark", "Meow"]], refine=False)
    assert [out["query"] for out in outs] == [["Trumpet"], ["Bark", "Meow"]]
    for out, single in zip(outs, (["Trumpet"], ["Bark", "Meow"])):
        np.testing.assert_allclose(out["audio"], tiny_pipeline(audio, query=single, refine=False)["audio"], atol=1e-6)


def test_threshold_drops_classes_below_it(tiny_pipeline):
    audio = noise(0.5)
    out = tiny_pipeline(audio, query=["Trumpet", "Bark"], threshold=0.0)
    assert out["refined_query"] == ["Bark", "Trumpet"]
    p_bark, p_trumpet = out["class_probabilities"]["Bark"], out["class_probabilities"]["Trumpet"]
    theta = (p_bark + p_trumpet) / 2  # between the two: exactly one class survives
    kept = tiny_pipeline(audio, query=["Trumpet", "Bark"], threshold=theta)["refined_query"]
    assert kept == (["Bark"] if p_bark > p_trumpet else ["Trumpet"])
    assert tiny_pipeline(audio, query=["Trumpet", "Bark"], threshold=1.0)["refined_query"] == []
    assert tiny_pipeline(audio, query=["Trumpet", "Bark"], threshold=1.0, refine=False)["refined_query"] == [
        "Bark",
        "Trumpet",
    ]


def test_refined_query_is_what_is_extracted(tiny_pipeline):
    audio = noise(0.5)
    refined = tiny_pipeline(audio, query=["Trumpet", "Bark"], threshold=1.0)
    unrefined_empty = tiny_pipeline(audio, query=np.zeros(41) + expected(TRUMPET), oracle_classes=[])
    np.testing.assert_allclose(refined["audio"], unrefined_empty["audio"], atol=1e-6)


def test_oracle_classes_refine_like_the_model(tiny_pipeline):
    audio = noise(0.5)
    out = tiny_pipeline(audio, query=["Trumpet", "Bark"], oracle_classes=["Bark", "Meow"])
    assert out["refined_query"] == ["Bark"]
    config = tiny_pipeline.model.config
    query = torch.from_numpy(expected(TRUMPET, BARK))[None]
    oracle = torch.from_numpy(expected(BARK, MEOW))[None]
    with torch.inference_mode():
        reference = tiny_pipeline.model(torch.from_numpy(audio)[None], query, oracle_presence=oracle)
    np.testing.assert_allclose(out["audio"], reference.extracted_values[0].numpy(), atol=1e-6)
    assert config.num_labels == 41
    with pytest.raises(ValueError, match="one set"):
        tiny_pipeline(audio, query=["Bark"], oracle_classes=[["Bark"], ["Meow"]])


def test_model_without_classifier():
    pipe = make_pipeline(QrtseConfig.from_preset("tiny", use_classifier=False))
    audio = noise(0.5)
    out = pipe(audio, query=["Trumpet", "Bark"])
    assert out["class_probabilities"] is None and out["refined_query"] == ["Bark", "Trumpet"]
    assert pipe(audio, query=["Trumpet", "Bark"], oracle_classes=["Bark"])["refined_query"] == ["Bark"]
    with pytest.raises(ValueError, match="no classifier"):
        pipe(audio, query=["Bark"], refine=True)


def test_silence_empty_query_config_gives_exact_zeros():
    pipe = make_pipeline(QrtseConfig.from_preset("tiny", silence_empty_query=True))
    out = pipe(noise(0.5), query=["Bark"], threshold=1.0)
    assert out["refined_query"] == [] and not out["audio"].any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold": 1.5}, "threshold"),
        ({"refinement": "clip"}, "refinement"),
        ({"chunk_length_s": -1}, "chunk_length_s"),
        ({"output_sampling_rate": "fast"}, "output_sampling_rate"),
    ],
)
def test_bad_parameters(tiny_pipeline, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(noise(0.2), query=["Bark"], **kwargs)


def test_parameters_given_at_construction_are_defaults():
    pipe = make_pipeline()
    pipe = type(pipe)(model=pipe.model, feature_extractor=pipe.feature_extractor, query=["Bark"], threshold=1.0)
    assert pipe(noise(0.2))["refined_query"] == []
    assert pipe(noise(0.2), threshold=0.0)["refined_query"] == ["Bark"]

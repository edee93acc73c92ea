"""The Space through gradio_client, as an API user meets it: `/extract`, errors, 8 clients at once."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.slow  # starts the Space (gradio import + model load) once per session


def extract(url, path, classes=("Bark", "Trumpet"), theta=0.1, refine=True, refinement="file"):
    client = Client(url, verbose=False)
    return client.predict(handle_file(str(path)), list(classes), theta, refine, refinement, api_name="/extract")


def test_extract_returns_audio_probabilities_queries_and_spectrograms(space_url, mixture_file):
    audio_path, bars, query, refined, why, image_path = extract(space_url, mixture_file)
    audio, rate = sf.read(audio_path)
    assert rate == 16000 and len(audio) == 3 * 16000 and np.isfinite(audio).all()
    assert query == "Bark, Trumpet"
    assert set(filter(None, refined.split(", "))) <= {"Bark", "Trumpet"}
    assert bars["columns"] == ["class", "probability", "status"]
    rows = {row[0]: row for row in bars["data"]}
    assert {"Bark", "Trumpet"} <= set(rows) and all(0 <= row[1] <= 1 for row in rows.values())
    assert "**Bark**" in why and image_path.endswith((".webp", ".png"))


def test_frame_refinement_says_where_each_class_was_kept(space_url, mixture_file):
    audio_path, _, _, refined, why, _ = extract(space_url, mixture_file, theta=0.0, refinement="frame")
    audio, _ = sf.read(audio_path)
    assert refined == "Bark, Trumpet" and len(audio) == 3 * 16000
    assert "where it is heard: 0.0–3.0 s" in why  # theta 0 keeps every frame


def test_refinement_at_theta_one_removes_every_class(space_url, mixture_file):
    _, bars, _, refined, why, _ = extract(space_url, mixture_file, theta=1.0)
    assert refined == "" and "removed" in why and "silence" in why
    assert {row[2] for row in bars["data"] if row[0] in ("Bark", "Trumpet")} == {"removed"}
    _, bars, _, refined, why, _ = extract(space_url, mixture_file, theta=1.0, refine=False)
    assert refined == "Bark, Trumpet (refinement off)" and "Refinement off" in why


@pytest.mark.parametrize(
    "case, message",
    [
        ("no_audio", "No audio"),
        ("no_class", "at least one target class"),
        ("unreadable", "Could not decode notes.wav as audio"),
        ("nan", "NaN"),
    ],
)
def test_bad_input_is_explained(space_url, mixture_file, tmp_path, case, message):
    client = Client(space_url, verbose=False)
    path, classes = handle_file(str(mixture_file)), ["Bark"]
    if case == "no_audio":
        path = None
    elif case == "no_class":
        classes = []
    elif case == "unreadable":
        (tmp_path / "notes.wav").write_bytes(b"this is not audio" * 20)
        path = handle_file(str(tmp_path / "notes.wav"))
    elif case == "nan":
        sf.write(tmp_path / "nan.wav", np.full(1600, np.nan, np.float32), 16000, subtype="FLOAT")
        path = handle_file(str(tmp_path / "nan.wav"))
    with pytest.raises(AppError, match=message):
        client.predict(path, classes, 0.1, True, "file", api_name="/extract")


def test_eight_concurrent_clients_all_succeed(space_url, mixture_file):
    def one(index):
        start = time.monotonic()
        audio_path = extract(space_url, mixture_file, classes=("Bark",) if index % 2 else ("Trumpet", "Meow"))[0]
        return time.monotonic() - start, sf.info(audio_path).frames

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    total = time.monotonic() - started
    assert [frames for _, frames in results] == [3 * 16000] * 8
    latencies = sorted(latency for latency, _ in results)
    print(
        f"\n8 concurrent clients: all succeeded in {total:.1f} s; latency min {latencies[0]:.1f} s, "
        f"median {latencies[4]:.1f} s, max {latencies[-1]:.1f} s"
    )

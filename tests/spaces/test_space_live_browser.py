"""The Live tab in headless Chromium: the Space serves a tiny causal model, Chromium's fake
microphone plays a WAV written here, the visitor records, and the extracted audio streams back
while the refined query and the class presence update.

Chromium comes from Debian as for `test_space_browser.py`; the Space's streamed audio output
needs FFmpeg (`apt-get install ffmpeg`), as Gradio encodes it with FFmpeg."""

import io
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from playwright import sync_api as playwright

from tests.modeling_qrtse.causal_helpers import tiny_causal_model
from tests.spaces.conftest import SPACE, free_port, running_space
from tests.spaces.test_space_browser import CHROMIUM, CHROMIUM_ARGS

RECORD_MS = 3000
UPDATE_TIMEOUT_MS = 30_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_space_url(tiny_model_dir, tmp_path_factory):
    """The Space with the tiny (non-causal) model on the file tab and a tiny causal one, from
    `$QRTSE_CAUSAL_MODEL`, on the Live tab; stopped (its own process only) after the module."""
    if not shutil.which("ffmpeg"):
        pytest.fail("FFmpeg is missing: apt-get install -y ffmpeg (Gradio encodes streamed audio with it)")
    root = tmp_path_factory.mktemp("live_space")
    tiny_causal_model().save_pretrained(root / "causal")
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(root / "gradio"),
        "QRTSE_CAUSAL_MODEL": str(root / "causal"),
    }
    command = [sys.executable, str(SPACE / "app.py"), "--model", str(tiny_model_dir), "--port", str(port)]
    command += ["--host", "127.0.0.1", "--examples-dir", str(root / "examples")]
    with running_space(command, root, env, port) as url:
        yield url


@pytest.fixture(scope="module")
def microphone_file(tmp_path_factory):
    """What the fake microphone plays (looped): a tone and noise bursts, 16-bit PCM as Chromium needs."""
    path = tmp_path_factory.mktemp("microphone") / "microphone.wav"
    rate = 16000
    t = np.arange(2 * rate) / rate
    bursts = np.random.default_rng(0).standard_normal(t.size) * (np.sin(2 * np.pi * 2 * t) > 0)
    sf.write(path, (0.2 * np.sin(2 * np.pi * 440 * t) + 0.1 * bursts).astype(np.float32), rate, subtype="PCM_16")
    return path


@pytest.fixture
def page(live_space_url, microphone_file):
    if not shutil.which("chromium"):
        pytest.fail("Chromium is missing: apt-get install -y chromium (`make test` installs it)")
    args = [
        *CHROMIUM_ARGS,
        f"--use-file-for-fake-audio-capture={microphone_file}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1400}, permissions=["microphone"])
        page = context.new_page()
        page.goto(live_space_url)
        page.locator("#extract").wait_for()
        yield page
        browser.close()


def record(page):
    """Press Record; True once the refined query shows the model heard a frame. Gradio's recorder
    loads asynchronously, so a Record pressed before it is ready sends nothing: then press again."""
    microphone = page.locator("#live-microphone")
    refined = page.locator("#live-refined textarea")
    for _ in range(2):
        microphone.get_by_role("button", name="Record").first.click()
        try:
            page.wait_for_function(
                "e => e.value && e.value !== 'Listening…'", arg=refined.element_handle(), timeout=UPDATE_TIMEOUT_MS
            )
            return True
        except playwright.TimeoutError:
            microphone.get_by_role("button", name="Stop").first.click()
            page.wait_for_timeout(1000)
    return False


def test_record_and_hear_the_extraction_live(page, tmp_path):
    segments = []
    page.on(
        "response",
        lambda r: segments.append(len(r.body())) if "/gradio_api/stream/" in r.url and r.url.endswith(".aac") else None,
    )
    page.get_by_role("tab", name="Live").click()
    assert "causal model" in page.locator("#live-intro").inner_text()
    assert record(page), "the refined query never updated: no chunk reached the model"
    page.wait_for_timeout(RECORD_MS)

    # While recording: the refined query and the presence update, and the output plays.
    refined = page.locator("#live-refined textarea").input_value()
    assert refined == "Finger_snapping" or refined.startswith("None of the chosen classes")
    presence = page.locator("#live-presence").inner_text()
    assert "Finger_snapping" in presence and "%" in presence
    player = page.locator("#live-extracted audio")
    playwright.expect(player).to_have_attribute("src", re.compile(".+"), timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(
        "a => a.currentTime > 0 && !a.paused", arg=player.element_handle(), timeout=UPDATE_TIMEOUT_MS
    )
    assert segments and all(size > 0 for size in segments)
    classes = page.locator("#live-classes")
    classes.locator("input").click()  # another class: applies from the next chunk
    classes.get_by_role("option", name="Cough", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "e => e.innerText.includes('Cough')",
        arg=page.locator("#live-presence").element_handle(),
        timeout=UPDATE_TIMEOUT_MS,
    )
    page.screenshot(path=str(tmp_path / "live.png"), full_page=True)
    label = Image.open(io.BytesIO(page.locator("#live-presence").screenshot())).convert("L")
    assert np.asarray(label).std() > 10  # bars and names drawn, not an empty box

    # Stop: the stream ends, and the whole extraction is downloadable.
    page.locator("#live-microphone").get_by_role("button", name="Stop").first.click()
    link = page.locator("#live-extracted a[download]")
    link.wait_for(timeout=UPDATE_TIMEOUT_MS)
    response = page.request.get(link.get_attribute("href"))
    assert response.ok
    seconds = decoded_seconds(response.body())
    assert 0.5 < seconds < RECORD_MS / 1000 + UPDATE_TIMEOUT_MS / 1000


def decoded_seconds(encoded: bytes) -> float:
    """The duration of streamed audio as FFmpeg decodes it (AAC, whatever the name says)."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"],
        input=encoded,
        capture_output=True,
        check=True,
    )
    return len(result.stdout) / 2 / 16000

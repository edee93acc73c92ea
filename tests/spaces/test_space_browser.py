"""The Space in headless Chromium, as a visitor meets it: upload a mixture, tick classes, press
Extract, receive audio; record from the microphone (Chromium's fake device); pick an example;
see the error for a missing upload.

Chromium comes from Debian (`apt-get install chromium`, done by `.ci/run`), not from
`playwright install`, which downloads and cannot work offline."""

import io
import shutil

import pytest
import soundfile as sf
from playwright import sync_api as playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and nothing that phones out: the machine's closed network refuses those connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A microphone that plays a test tone, granted without a prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
OUTPUT_TIMEOUT_MS = 90_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromium"):
        pytest.fail("Chromium is missing: apt-get install -y chromium (`make test` installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, space_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, permissions=["microphone"])
    page = context.new_page()
    page.goto(space_url)
    page.locator("#extract").wait_for()
    yield page
    context.close()


def received_audio(page):
    """The extracted audio as the visitor downloads it: the Extracted player's download link."""
    link = page.locator("#extracted a[download]")
    link.wait_for(timeout=OUTPUT_TIMEOUT_MS)
    response = page.request.get(link.get_attribute("href"))
    assert response.ok
    return sf.read(io.BytesIO(response.body()))


def test_upload_select_extract_receive_audio(page, mixture_file, tmp_path):
    page.locator("#mixture input[type=file]").set_input_files(str(mixture_file))
    page.locator("#mixture audio, #mixture [data-testid='waveform-Mixture']").first.wait_for(timeout=30_000)
    for label in ("Bark", "Trumpet"):
        page.locator("#classes").get_by_label(label, exact=True).check()
    page.locator("#extract").click()
    audio, rate = received_audio(page)
    assert rate == 16000 and len(audio) == 3 * 16000
    assert page.locator("#query textarea").input_value() == "Bark, Trumpet"
    page.locator("#spectrograms img").wait_for()
    assert "Bark" in page.locator("#explanation").inner_text()
    page.screenshot(path=str(tmp_path / "space.png"), full_page=True)


def test_record_then_extract(page):
    mixture = page.locator("#mixture")
    mixture.locator("button[aria-label='Record audio']").click()
    mixture.get_by_role("button", name="Record").first.click()
    page.wait_for_timeout(2000)  # two seconds of the fake microphone's tone
    mixture.get_by_role("button", name="Stop").first.click()
    mixture.locator("button[aria-label='Play']").wait_for(timeout=30_000)
    page.locator("#classes").get_by_label("Bark", exact=True).check()
    page.locator("#extract").click()
    audio, rate = received_audio(page)
    assert rate == 16000 and 1.0 < len(audio) / rate < 10.0


def test_pick_an_example_then_extract(page):
    page.get_by_text("Real recordings 1").first.click()
    # Example 1's query is Trumpet + Acoustic_guitar.
    trumpet = page.locator("#classes").get_by_label("Trumpet", exact=True)
    playwright.expect(trumpet).to_be_checked(timeout=30_000)
    page.locator("#extract").click()
    audio, rate = received_audio(page)
    assert rate == 16000 and len(audio) == 6 * 16000


def test_missing_upload_shows_the_error(page):
    page.locator("#classes").get_by_label("Bark", exact=True).check()
    page.locator("#extract").click()
    playwright.expect(page.get_by_text("No audio: upload or record a mixture").first).to_be_visible(timeout=30_000)

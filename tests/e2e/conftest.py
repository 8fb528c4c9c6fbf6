"""Browser end-to-end fixtures: the real `oratio demo` server on loopback and Debian's Chromium.

The server runs as a subprocess with a fresh data directory (its SQLite file is inspected
directly by the tests); Chromium's fake microphone plays a WAV the project's own TTS speaks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.audio import QUESTION, silence_wav, spoken_question_wav
from tests.e2e.server import REPO, DemoServer, running_demo

CHROMIUM = Path(os.environ.get("ORATIO_E2E_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """`oratio demo` on a free loopback port, fully offline (no ORATIO_* settings inherited)."""
    with running_demo(tmp_path_factory.mktemp("oratio-data")) as server:
        yield server


@pytest.fixture(scope="session")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The caller's spoken question (after a pause for the greeting), then a long silence."""
    path = tmp_path_factory.mktemp("audio") / "question.wav"
    return spoken_question_wav(path, QUESTION, lead_silence=7.0, tail_silence=40.0)


@pytest.fixture(scope="session")
def silent_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quiet microphone, for tests that type instead of speaking."""
    return silence_wav(tmp_path_factory.mktemp("audio") / "silence.wav", seconds=5.0)


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while
    it is open, which async tests in later modules could not share."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make system-deps)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def launch_chromium(playwright_instance: Playwright) -> Iterator[Callable[[Path], Browser]]:
    """Chromium whose fake microphone plays `wav`; one browser per WAV, shared by tests."""
    browsers: dict[Path, Browser] = {}

    def launch(wav: Path) -> Browser:
        if wav not in browsers:
            browsers[wav] = playwright_instance.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--no-sandbox",
                    "--headless=new",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={wav}",
                ],
            )
        return browsers[wav]

    yield launch
    for browser in browsers.values():
        browser.close()


@pytest.fixture
def open_page(
    launch_chromium: Callable[[Path], Browser], demo_server: DemoServer
) -> Iterator[Callable[[Path], Page]]:
    """A fresh browser context (microphone allowed) on the demo page; JS errors fail the test."""
    contexts = []
    errors: list[str] = []
    console: list[str] = []

    def open_(wav: Path) -> Page:
        context = launch_chromium(wav).new_context(viewport={"width": 1280, "height": 860})
        context.grant_permissions(["microphone"], origin=demo_server.base_url)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        page.goto(f"{demo_server.base_url}/demo")
        page.wait_for_function("() => window.OratioWidget !== undefined", timeout=15_000)
        return page

    yield open_
    for context in contexts:
        context.close()
    print("browser console:\n" + "\n".join(console))  # shown when the test fails
    print("server log tail:\n" + demo_server.log_tail())
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a screenshot as test-output/screenshots/<test>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path))
        return path

    return take

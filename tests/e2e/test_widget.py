"""The website widget in real Chromium against the real `oratio demo` server.

A call is driven through the widget's UI (clicks and typing, so the browser sees real user
gestures); `window.OratioWidget` is only read, except to cut the socket in the reconnect test.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.audio import QUESTION

if TYPE_CHECKING:
    from tests.e2e.conftest import DemoServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LIVE_STATES = ("listening", "thinking", "speaking")
WAIT_MS = 60_000


# ---- reading the server's store (adjust here if the store's layout changes) ------------------


def stored_session(db_path: Path, session_id: str) -> tuple[dict[str, Any] | None, list[dict]]:
    """The `sessions` row for `session_id` and its `turns`, straight from the SQLite file.

    Opened read-only. Columns are read by name and a JSON `data` column is merged into each
    record, so the assertions only rely on `id`, `session_id`, `role` and `text`.
    """

    def record(row: sqlite3.Row) -> dict[str, Any]:
        columns = dict(row)
        data = columns.pop("data", None)
        parsed = json.loads(data) if isinstance(data, str) and data.startswith("{") else {}
        return {**parsed, **columns}

    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as db:
        db.row_factory = sqlite3.Row
        sessions = [
            record(r) for r in db.execute("SELECT * FROM sessions WHERE id = ?", [session_id])
        ]
        turn_columns = {r[1] for r in db.execute("PRAGMA table_info(turns)")}
        order = " ORDER BY seq" if "seq" in turn_columns else ""
        turns = [
            record(r)
            for r in db.execute(f"SELECT * FROM turns WHERE session_id = ?{order}", [session_id])
        ]
    return (sessions[0] if sessions else None), turns


def wait_stored(
    server: DemoServer, session_id: str, roles: set[str], timeout_s: float = 20
) -> tuple[dict[str, Any], list[dict]]:
    """Poll the store until the session exists with turns of every role in `roles`."""
    deadline = time.monotonic() + timeout_s
    session, turns = None, []
    while time.monotonic() < deadline:
        if server.db_path.exists():
            session, turns = stored_session(server.db_path, session_id)
            if session and roles <= {t.get("role") for t in turns}:
                return session, turns
        time.sleep(0.5)
    pytest.fail(f"session {session_id} not stored with {roles} turns: {session=} {turns=}")


# ---- driving the widget ------------------------------------------------------------------------


def widget(page: Page, attribute: str) -> Any:
    return page.evaluate(f"() => window.OratioWidget.{attribute}")


def start_call(page: Page) -> str:
    """Open the panel, press the call button, wait for `ready`; the session id."""
    page.get_by_test_id("oratio-launcher").click()
    expect(page.get_by_test_id("oratio-panel")).to_be_visible()
    page.get_by_test_id("oratio-call").click()
    page.wait_for_function("() => window.OratioWidget.sessionId !== ''", timeout=30_000)
    return str(widget(page, "sessionId"))


def settle(page: Page, quiet_s: float = 2.0, timeout_s: float = 45) -> list[dict]:
    """Wait until the agent is listening and no caption changed for `quiet_s` (greeting done)."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = page.evaluate(
            "() => ({s: window.OratioWidget.state, c: window.OratioWidget.captions})"
        )
        if now != last:
            last, since = now, time.monotonic()
        elif now["s"] == "listening" and time.monotonic() - since >= quiet_s:
            return list(now["c"])
        time.sleep(0.25)
    pytest.fail(f"the call never settled into listening: {last}")


def type_question(page: Page, text: str) -> None:
    box = page.get_by_test_id("oratio-text-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def wait_caption(page: Page, role: str, after: int, timeout_ms: int = WAIT_MS) -> tuple[int, str]:
    """The first final, non-empty caption of `role` at index >= `after`: (index, text)."""
    found = page.wait_for_function(
        """([role, after]) => {
            const caps = window.OratioWidget.captions;
            for (let i = after; i < caps.length; i++) {
                const c = caps[i];
                if (c.role === role && c.final && c.text.trim()) return [i, c.text];
            }
            return null;
        }""",
        arg=[role, after],
        timeout=timeout_ms,
    ).json_value()
    return int(found[0]), str(found[1])


def end_call(page: Page) -> None:
    page.get_by_test_id("oratio-call").click()
    page.wait_for_function("() => window.OratioWidget.state === 'ended'", timeout=10_000)
    expect(page.get_by_test_id("oratio-state")).to_have_attribute("data-state", "ended")


# ---- the tests -----------------------------------------------------------------------------------


def test_spoken_question_gets_a_spoken_answer(
    open_page: Callable[[Path], Page],
    question_wav: Path,
    demo_server: DemoServer,
    screenshot: Callable[[Page, str], Path],
) -> None:
    """The fake mic asks about returns; captions show the question and the agent's answer."""
    page = open_page(question_wav)
    screenshot(page, "1-landing")
    session_id = start_call(page)
    screenshot(page, "2-connected")

    caller_at, heard = wait_caption(page, "caller", 0)
    screenshot(page, "3-caller-heard")
    # Intact audio at the declared rate is recognizable: most content words come through.
    asked = {"how", "many", "days", "have", "return", "item"}
    assert len(asked & set(heard.lower().split())) >= 3, f"the server heard {heard!r}"
    _, answer = wait_caption(page, "agent", caller_at + 1)
    page.wait_for_function("() => window.OratioWidget.states.includes('speaking')", timeout=WAIT_MS)
    screenshot(page, "4-agent-answer")

    states = widget(page, "states")
    assert "listening" in states, states
    assert "speaking" in states[states.index("listening") :], states
    captions = page.get_by_test_id("oratio-caption")
    expect(captions.filter(has_text=heard).first).to_be_visible()
    expect(captions.filter(has_text=answer).first).to_be_visible()
    audio = widget(page, "audio")
    assert audio["context"] == "running", audio
    assert audio["framesSent"] > 50 and audio["chunksPlayed"] > 0, audio  # mic sent, agent heard

    end_call(page)
    screenshot(page, "5-ended")
    _, turns = wait_stored(demo_server, session_id, {"caller", "agent"})
    assert any(t.get("role") == "agent" and t.get("text") for t in turns), turns


def test_typed_question_gets_an_answer(
    open_page: Callable[[Path], Page],
    silent_wav: Path,
    demo_server: DemoServer,
    screenshot: Callable[[Page, str], Path],
) -> None:
    """Typing with no call running starts a call without the microphone and gets an answer."""
    page = open_page(silent_wav)
    page.get_by_test_id("oratio-launcher").click()
    type_question(page, QUESTION)
    caller_at, typed = wait_caption(page, "caller", 0)
    assert typed == QUESTION
    page.wait_for_function("() => window.OratioWidget.sessionId !== ''", timeout=30_000)

    answer_at, _ = wait_caption(page, "agent", caller_at + 1)
    # The sample SOP's return window is 30 days; a greeting may arrive before the answer.
    page.wait_for_function(
        """(after) => window.OratioWidget.captions.slice(after).some(
            (c) => c.role === 'agent' && c.final && /\\b30\\b|thirty/i.test(c.text))""",
        arg=answer_at,
        timeout=WAIT_MS,
    )
    screenshot(page, "answered")
    mic = page.get_by_test_id("oratio-mic")
    expect(mic).to_have_attribute("aria-pressed", "true")  # typing never opened the mic
    session_id = str(widget(page, "sessionId"))
    end_call(page)
    _, turns = wait_stored(demo_server, session_id, {"caller", "agent"})
    assert any(re.search(r"return", str(t.get("text")), re.I) for t in turns), turns


def test_dropped_socket_resumes_the_same_call(
    open_page: Callable[[Path], Page],
    silent_wav: Path,
    demo_server: DemoServer,
    screenshot: Callable[[Page, str], Path],
) -> None:
    """A network drop mid-call shows `reconnecting`, then the same session continues."""
    page = open_page(silent_wav)
    session_id = start_call(page)
    before = settle(page)
    type_question(page, QUESTION)
    caller_at, _ = wait_caption(page, "caller", len(before))
    wait_caption(page, "agent", caller_at + 1)
    before = settle(page)

    assert page.evaluate("() => window.OratioWidget._dropSocketForTest()") is True
    assert widget(page, "state") == "reconnecting"
    expect(page.get_by_test_id("oratio-state")).to_have_attribute("data-state", "reconnecting")
    screenshot(page, "1-reconnecting")

    page.wait_for_function(
        """() => {
            const w = window.OratioWidget, s = w.states;
            return s.lastIndexOf('reconnecting') < s.length - 1
                && ['listening', 'thinking', 'speaking'].includes(w.state);
        }""",
        timeout=WAIT_MS,
    )
    assert widget(page, "sessionId") == session_id
    after = widget(page, "captions")
    kept = [(c["role"], c["text"]) for c in after[: len(before)]]
    assert kept == [(c["role"], c["text"]) for c in before], after
    expect(page.get_by_test_id("oratio-notice")).to_contain_text("Reconnected")
    screenshot(page, "2-resumed")

    follow_up = "What if the item arrived damaged?"
    type_question(page, follow_up)
    caller_at, _ = wait_caption(page, "caller", len(after))
    wait_caption(page, "agent", caller_at + 1)
    screenshot(page, "3-answered-after-resume")
    end_call(page)

    _, turns = wait_stored(demo_server, session_id, {"caller", "agent"})
    caller_texts = [str(t.get("text")) for t in turns if t.get("role") == "caller"]
    assert QUESTION in caller_texts and follow_up in caller_texts, caller_texts

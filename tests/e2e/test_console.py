"""The management console in real Chromium against the real `oratio demo` server.

One journey a contact-center lead takes: sign up, build an agent from an SOP in the wizard, key
it, watch a website call live, get the handoff notification, take the caller over from the
queue and chat with them, then read the call in the history, play its recording and look at the
analytics. A website caller (the widget's WebSocket protocol) is simulated from the test.
Screenshots: test-output/screenshots/console-*.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.e2e.conftest_console import (
    CHROMIUM_ARGS,
    REPO,
    SCREENSHOTS,
    ConsoleServer,
    WebsiteCaller,
    console_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

CHROMIUM = Path("/usr/bin/chromium")
SOP = REPO / "examples" / "sops" / "clinic-appointments.md"
EMAIL = "lead@riverside-clinic.example"
PASSWORD = "correct horse battery"
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    with console_server(tmp_path_factory.mktemp("console-data")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make system-deps)")
    chromium = playwright_instance.chromium
    launched = chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, server: ConsoleServer) -> Iterator[Page]:
    """A fresh context; page errors and requests to any other origin fail the test."""
    context = browser.new_context(viewport={"width": 1360, "height": 880}, color_scheme="light")
    opened = context.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    console: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    host = server.base_url.split("//", 1)[1]
    opened.on("request", lambda r: None if host in r.url.split("/")[2:3] else foreign.append(r.url))
    yield opened
    context.close()
    print("browser console:\n" + "\n".join(console))
    print("server log tail:\n" + server.log_tail())
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not foreign, f"the console fetched from another origin (must work offline): {foreign}"


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"console-{name}.png"
    page.screenshot(path=str(path), animations="disabled", full_page=full_page)


def nav(page: Page, label: str) -> None:
    page.locator(".nav a", has_text=label).click()


def drop_file(page: Page, selector: str, path: Path, mime: str) -> None:
    """Drag a file onto `selector` as a browser delivers it: a drop event with a DataTransfer."""
    data_transfer = page.evaluate_handle(
        """([name, text, mime]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, { type: mime }));
            return dt;
        }""",
        [path.name, path.read_text(), mime],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": data_transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": data_transfer})


def test_console_journey(page: Page, server: ConsoleServer) -> None:
    # sign up ---------------------------------------------------------------------------
    page.goto(f"{server.base_url}/console")
    expect(page).to_have_url(re.compile(r"/console/login"))
    shot(page, "login")
    page.get_by_test_id("tab-register").click()
    page.fill("input[name=organization]", "Riverside Family Clinic")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("organization")).to_have_text("Riverside Family Clinic")
    expect(page.get_by_test_id("create-agent-card")).to_contain_text("Create your first agent")
    expect(page.get_by_test_id("live-connection")).to_have_attribute("data-state", "open")
    shot(page, "agents-empty")

    # create an agent from an SOP: drop it, watch the build stage by stage -------------------
    page.get_by_test_id("create-agent").click()
    drop_file(page, "[data-testid=dropzone]", SOP, "text/markdown")
    expect(page.get_by_test_id("file-list")).to_contain_text(SOP.name)
    page.get_by_test_id("agent-name").fill("Clinic appointments")
    shot(page, "wizard-upload")
    page.get_by_test_id("start-build").click()
    stages = page.get_by_test_id("build-stages")
    expect(stages.locator("[data-stage=intake]")).to_have_attribute("data-status", "done")
    expect(stages.locator("[data-stage=validate]")).to_have_attribute(
        "data-status", re.compile("running|done")
    )
    shot(page, "wizard-build")
    expect(page.get_by_test_id("configure-agent")).to_be_visible(timeout=90_000)
    for stage in ("intake", "parse", "plan", "review", "generate", "validate", "package"):
        expect(stages.locator(f"[data-stage={stage}]")).to_have_attribute("data-status", "done")
    shot(page, "wizard-built")

    # configure it: a bad number is refused in the form, a good one is saved ---------------
    page.get_by_test_id("configure-agent").click()
    form = page.get_by_test_id("config-form")
    form.locator("select[name=voice]").select_option("matthew")
    form.locator("textarea[name=greeting]").fill("Riverside Family Clinic, how can I help?")
    phone = page.get_by_test_id("phone-input")
    phone.fill("12345")
    phone.press("Enter")
    expect(page.locator(".chip-error:visible")).to_contain_text("E.164")
    phone.fill("+14155550123")
    phone.press("Enter")
    expect(form.locator(".chip", has_text="+14155550123")).to_be_visible()
    shot(page, "wizard-config")
    page.get_by_test_id("save-config").click()
    expect(page.locator(".agent-head h1")).to_have_text("Clinic appointments")
    expect(page.locator(".agent-head .badge")).to_have_text("Active")
    expect(page.get_by_test_id("config-form").locator("select[name=voice]")).to_have_value(
        "matthew"
    )
    page.get_by_test_id("pause-agent").click()
    expect(page.locator(".agent-head .badge")).to_have_text("Paused")
    page.get_by_test_id("resume-agent").click()
    expect(page.locator(".agent-head .badge")).to_have_text("Active")
    shot(page, "agent-settings")
    agent_id = page.url.rsplit("/", 1)[1]

    # an API key: the secret shows once --------------------------------------------------
    nav(page, "API keys")
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    page.get_by_test_id("create-key").click()
    page.get_by_test_id("key-name").fill("Clinic website")
    page.get_by_test_id("key-submit").click()
    secret = page.get_by_test_id("key-secret").inner_text().strip()
    assert secret.startswith("ov_pk_") and "." in secret
    shot(page, "api-key-created")
    page.get_by_test_id("key-done").click()
    key_row = page.get_by_test_id("keys-table").locator("tbody tr")
    expect(key_row).to_have_count(1)
    expect(key_row).to_contain_text(secret.split(".")[0])
    expect(key_row).to_contain_text("Clinic appointments")
    assert secret not in page.content()
    shot(page, "api-keys")

    # a website call appears live, its transcript streaming in ---------------------------
    nav(page, "Live")
    expect(page.get_by_text("No calls right now")).to_be_visible()
    caller = WebsiteCaller(server, agent_id, secret)
    try:
        ready = caller.wait_for(lambda m: m["type"] == "ready")
        session_id = ready["session_id"]
        card = page.locator(f"[data-testid=live-card][data-session-id={session_id}]")
        expect(card).to_be_visible(timeout=WAIT_MS)
        card.click()
        transcript = page.get_by_test_id("live-detail").get_by_test_id("transcript")
        caller.say("How do I book an appointment?")
        expect(transcript.locator("[data-role=caller]")).to_contain_text("book an appointment")
        expect(transcript.locator("[data-role=agent]")).to_have_count(2, timeout=WAIT_MS)
        expect(card).to_contain_text("Agent:")
        shot(page, "live")

        # the caller asks for a person: a handoff notification arrives as a toast ------------
        caller.say("I want to talk to a person")
        caller.wait_for(lambda m: m["type"] == "handoff")
        toast = page.locator(".toast[data-kind=handoff]")
        expect(toast).to_be_visible(timeout=WAIT_MS)
        expect(toast).to_contain_text("handed to")
        expect(page.get_by_test_id("bell-count")).to_have_text(re.compile(r"[1-9]"))
        expect(card.locator(".badge")).to_contain_text("Waiting for a person")
        shot(page, "handoff-toast")

        # an operator picks the caller up from the queue and they chat -----------------------
        toast.get_by_role("button", name="Open queue").click()
        pane = page.get_by_test_id("queue-pane")
        expect(pane.get_by_test_id("ai-summary")).to_contain_text("asked for a person")
        expect(page.get_by_test_id("nav-count-queue")).to_have_text("1")
        shot(page, "queue")
        pane.get_by_test_id("pickup").click()
        caller.wait_for(lambda m: m["type"] == "operator" and m["name"] == EMAIL)
        pane.get_by_test_id("operator-input").fill("Hi, this is Dana from the front desk.")
        pane.get_by_test_id("operator-send").click()
        caller.wait_for(
            lambda m: m["type"] == "transcript" and m["role"] == "operator" and "Dana" in m["text"]
        )
        caller.say("Thanks Dana, I need to move my appointment to Friday.")
        expect(pane.locator("[data-role=caller]").last).to_contain_text("Friday", timeout=WAIT_MS)
        expect(pane.locator("[data-role=operator]")).to_have_count(1)
        shot(page, "queue-chat")

        # the notification center: acknowledge the handoff --------------------------------
        nav(page, "Notifications")
        handoff_note = page.locator("[data-testid=notification][data-kind=handoff]")
        expect(handoff_note).to_have_count(1)
        handoff_note.get_by_test_id("acknowledge").click()
        expect(handoff_note).to_contain_text("acknowledged")
        expect(handoff_note).to_have_attribute("data-unread", "false")
        unread = page.locator("[data-testid=notification][data-unread=true]").count()
        expect(page.get_by_test_id("bell-count")).to_have_text(str(unread))
        shot(page, "notifications")
        caller.send(type="bye")
        caller.wait_for(lambda m: m["type"] == "end")  # the call and its recording are saved
    finally:
        caller.close()

    # the history: filter, open the call, play its recording ----------------------------
    nav(page, "History")
    row = page.locator(f"tr[data-session-id={session_id}]")
    expect(row).to_contain_text("caller asked for a person")
    page.get_by_test_id("history-filters").locator("select[name=handoff]").select_option("false")
    expect(page.get_by_text("No conversations match")).to_be_visible()
    page.get_by_test_id("history-filters").locator("select[name=handoff]").select_option("true")
    expect(row).to_be_visible()
    shot(page, "history")
    row.click()
    expect(page.get_by_test_id("handoff-summary")).to_contain_text("caller asked for a person")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator("[data-role=operator]")).to_contain_text("Dana")
    expect(transcript.locator("[data-role=system]")).to_contain_text("joined the conversation")
    audio = page.get_by_test_id("recording")
    expect(audio).to_have_attribute("src", re.compile(r"/api/recordings/.+signature="))
    page.wait_for_function(
        "a => a.readyState >= 1 && a.duration > 0", arg=audio.element_handle(), timeout=WAIT_MS
    )
    audio.evaluate("a => a.play()")
    page.wait_for_function("a => a.currentTime > 1", arg=audio.element_handle(), timeout=WAIT_MS)
    shot(page, "session")

    # analytics ---------------------------------------------------------------------------
    nav(page, "Analytics")
    kpis = page.get_by_test_id("kpis")
    expect(kpis).to_contain_text("Conversations")
    expect(kpis.locator("strong").first).to_have_text("1")
    expect(kpis).to_contain_text("100%")  # the one finished call was handed off
    assert page.get_by_test_id("chart-per-day").locator("rect").count() > 0
    expect(page.get_by_test_id("chart-reasons")).to_contain_text("caller asked for a person")
    expect(page.get_by_test_id("chart-channels")).to_contain_text("Website")
    shot(page, "analytics", full_page=True)

    # the audit log has who did what; dark mode looks right too --------------------------
    nav(page, "Audit")
    audit = page.get_by_test_id("audit-table")
    for action in ("auth.register", "agent.create", "agent.config", "api_key.create"):
        expect(audit).to_contain_text(action)
    expect(audit).to_contain_text("queue.pickup")
    shot(page, "audit")
    page.get_by_test_id("theme-toggle").click()
    nav(page, "Agents")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_test_id("agent-card")).to_have_count(1)
    shot(page, "agents-dark")


def test_console_refreshes_an_expired_access_token(page: Page, server: ConsoleServer) -> None:
    """A stale access token is refreshed through /api/auth/refresh; a dead refresh token
    sends the user back to the sign-in page, which reports bad credentials clearly."""
    with httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client:
        email = "refresh@example.org"
        body = {"email": email, "password": PASSWORD, "organization": "Refresh Ltd"}
        tokens = client.post("/api/auth/register", json=body).json()
    page.goto(f"{server.base_url}/console/login")
    stale = {"access_token": "not.a.valid-token", "refresh_token": tokens["refresh_token"]}
    page.evaluate("t => sessionStorage.setItem('oratio.console.tokens', t)", json.dumps(stale))
    page.goto(f"{server.base_url}/console/agents")
    expect(page.get_by_test_id("organization")).to_have_text("Refresh Ltd")
    stored = json.loads(page.evaluate("() => sessionStorage.getItem('oratio.console.tokens')"))
    assert stored["access_token"] != stale["access_token"]

    dead = {"access_token": "not.a.valid-token", "refresh_token": tokens["refresh_token"]}
    page.evaluate("t => sessionStorage.setItem('oratio.console.tokens', t)", json.dumps(dead))
    page.goto(f"{server.base_url}/console/history")  # the used refresh token no longer works
    expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Fhistory"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "wrong password")
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("auth-error")).to_have_text("Wrong e-mail address or password.")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page).to_have_url(re.compile(r"/console/history$"))
    expect(page.get_by_text("No conversations yet")).to_be_visible()


def test_console_assets_are_local_and_locked_down(server: ConsoleServer) -> None:
    """Every asset comes from this server (no CDN), under a strict Content-Security-Policy."""
    static = REPO / "console" / "ui" / "static"
    # a resource loaded from elsewhere: src/href attributes, CSS url(), @import, JS imports
    external = re.compile(
        r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?|\bfrom\s*["']|"""
        r"""\bimport\s*\(\s*["'])(?:https?:)?//"""
    )
    with httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client:
        shell = client.get("/console/agents")
        assert shell.status_code == 200
        csp = shell.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        for path in sorted(static.rglob("*")):
            if path.suffix not in {".html", ".js", ".css", ".svg"}:
                continue
            relative = path.relative_to(static).as_posix()
            if relative != "index.html":
                response = client.get(f"/console/static/{relative}")
                assert response.status_code == 200, relative
            assert not external.search(path.read_text()), f"{relative} refers to another host"
        for probe in ("..%2Froutes.py", "%2e%2e/%2e%2e/pyproject.toml", "missing.js", "x.html.bak"):
            assert client.get(f"/console/static/{probe}").status_code == 404, probe
        assert "APIRouter" not in client.get("/console/static/../routes.py").text

"""Handoff e-mail through SES (boto3 against a moto server on loopback): sent after the
notification is stored, off the call's path; a refused e-mail becomes a console notification
and never breaks the handoff; misconfiguration is named at start-up and in readiness."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from oratio_voice.config import Settings
from oratio_voice.models import CallSession, Notification
from oratio_voice.notify_email import HandoffMailer, MailConfigError, compose
from tests.browser_client import connect, expect, hello
from tests.conftest import LiveServer, free_port, start_server
from tests.scripted_engine import ScriptedEngine

SENDER = "oratio@northwind.example"
TEAM = ["support-lead@northwind.example", "ops@northwind.example"]
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ):
        monkeypatch.setenv(name, value)
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))


def sent(moto_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{moto_url}/moto-api/data.json") as response:
        return list(json.loads(response.read())["ses"]["Message"])


def verify_sender(moto_url: str) -> None:
    ses = boto3.client("ses", region_name=REGION, endpoint_url=moto_url)
    ses.verify_email_identity(EmailAddress=SENDER)


@pytest.fixture
async def server(tmp_path: Path, moto_url: str) -> AsyncIterator[LiveServer]:
    uv_server, task, live = await start_server(
        tmp_path / "data",
        ScriptedEngine(),
        agent_runtime="inprocess",
        handoff_email_to=", ".join(TEAM),
        handoff_email_from=SENDER,
        ses_region=REGION,
        ses_endpoint_url=moto_url,
    )
    yield live
    uv_server.should_exit = True
    await asyncio.wait_for(task, 10)


async def handed_off_call(server: LiveServer) -> str:
    async with connect(server.browser_url()) as ws:
        ready = await hello(ws)
        await ws.send(json.dumps({"type": "dtmf", "digit": "0"}))
        await expect(ws, "handoff")
    return str(ready["session_id"])


async def notes_of(server: LiveServer, session_id: str, count: int) -> list[Notification]:
    tenant = server.services.store.tenant(server.demo_tenant)
    async with asyncio.timeout(5):
        while True:
            notes = [n for n in await tenant.list_notifications() if n.session_id == session_id]
            if len(notes) >= count:
                return sorted(notes, key=lambda n: n.created_at)
            await asyncio.sleep(0.05)


async def test_a_handoff_emails_the_team(server: LiveServer, moto_url: str) -> None:
    verify_sender(moto_url)
    session_id = await handed_off_call(server)
    async with asyncio.timeout(5):
        while not sent(moto_url):
            await asyncio.sleep(0.05)
    (mail,) = sent(moto_url)
    assert mail["source"] == SENDER
    assert mail["destinations"] == {"ToAddresses": TEAM}
    assert mail["subject"].endswith("call handed to support")
    assert f"Session: {session_id}" in mail["body"]
    assert "Reason: caller pressed 0" in mail["body"] and "Channel: browser" in mail["body"]
    (note,) = await notes_of(server, session_id, 1)
    assert note.kind == "handoff" and note.body in mail["body"]
    ready = (await server.services.readiness())["handoff_email"]
    assert ready == f"ok (SES {REGION}, 2 recipient(s))"


async def test_a_refused_email_is_a_notification_and_the_handoff_stands(
    server: LiveServer, moto_url: str
) -> None:
    session_id = await handed_off_call(server)  # the sender was never verified in SES
    handoff, failure = await notes_of(server, session_id, 2)
    assert handoff.kind == "handoff"
    assert failure.kind == "system" and failure.title.startswith("Handoff e-mail not sent")
    assert "MessageRejected" in failure.body and "not verified" in failure.body
    session = await server.services.store.tenant(server.demo_tenant).get_session(session_id)
    assert session.status == "handoff" and session.handoff_reason == "caller pressed 0"
    assert sent(moto_url) == []


class BlockingSes:
    """An SES client stuck on the network until the test lets it go."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[dict[str, Any]] = []

    def send_email(self, **request: Any) -> dict[str, str]:
        self.release.wait(5)
        self.calls.append(request | {"thread": threading.current_thread().name})
        return {"MessageId": "m-1"}


async def test_a_slow_mail_service_never_holds_up_the_event_loop() -> None:
    ses = BlockingSes()
    mailer = HandoffMailer(SENDER, TEAM, region=REGION, client=ses)
    note = Notification(tenant_id="ten_a", title="Shop: call handed to support", body="Why.")
    failures: list[str] = []

    async def failed(error: str) -> None:
        failures.append(error)

    session = CallSession(tenant_id="ten_a", agent_id="agt_a", channel="browser")
    task = mailer.submit(note, session, failed)
    await asyncio.wait_for(asyncio.sleep(0.05), 1)  # the loop keeps running meanwhile
    assert not task.done() and ses.calls == []
    ses.release.set()
    await mailer.close()
    assert task.done() and failures == []
    assert ses.calls[0]["Destination"] == {"ToAddresses": TEAM}
    assert ses.calls[0]["thread"].startswith("handoff-mail")  # not the shared default pool


def test_compose_names_the_call() -> None:
    session = CallSession(
        tenant_id="ten_a", agent_id="agt_a", channel="twilio", caller="+15550001111"
    )
    session.handoff_reason = "AI fault: repeated tool failures"
    note = Notification(tenant_id="ten_a", title="Shop: call handed to support", body="Summary.")
    subject, text = compose(note, session, "https://voice.example/console")
    assert subject == "Shop: call handed to support"
    assert text.splitlines() == [
        "Summary.",
        "",
        f"Session: {session.id}",
        "Agent: agt_a",
        "Channel: twilio",
        "Caller: +15550001111",
        "Reason: AI fault: repeated tool failures",
        "Console: https://voice.example/console",
    ]


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"handoff_email_to": "a@x.example"}, "ORATIO_HANDOFF_EMAIL_FROM"),
        ({"handoff_email_to": "a@x.example", "handoff_email_from": SENDER}, "ORATIO_SES_REGION"),
    ],
)
async def test_misconfigured_email_is_named_in_readiness(
    tmp_path: Path, settings: dict[str, str], setting: str
) -> None:
    with pytest.raises(MailConfigError, match=setting):
        HandoffMailer.from_settings(Settings(data_dir=tmp_path, **settings))  # type: ignore[arg-type]
    uv_server, task, live = await start_server(
        tmp_path / "data", ScriptedEngine(), agent_runtime="inprocess", **settings
    )
    try:
        checks = await live.services.readiness()
        assert checks["handoff_email"].startswith("error: ") and setting in checks["handoff_email"]
        async with connect(live.browser_url()) as ws:  # calls are still served
            await hello(ws)
            await ws.send(json.dumps({"type": "dtmf", "digit": "0"}))
            await expect(ws, "handoff")
    finally:
        uv_server.should_exit = True
        await asyncio.wait_for(task, 10)


def test_email_is_off_unless_asked_for(tmp_path: Path) -> None:
    assert HandoffMailer.from_settings(Settings(data_dir=tmp_path)) is None
    mailer = HandoffMailer.from_settings(
        Settings(
            data_dir=tmp_path,
            handoff_email_to=" a@x.example ,, b@x.example ",
            handoff_email_from=SENDER,
            aws_region="us-west-2",
        )
    )
    assert mailer is not None and mailer.recipients == ["a@x.example", "b@x.example"]
    assert mailer.region == "us-west-2"

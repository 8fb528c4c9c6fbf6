"""The console's live feed (WS /api/live) and the human queue for website callers, with a real
widget connection: a handed-off call waits in the queue, an operator picks it up and the two
exchange messages; only the call's own organization hears any of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from console.auth import AUDIENCE, ISSUER
from oratio_voice.models import User, now
from oratio_voice.passwords import hash_password
from tests.browser_client import expect
from tests.conftest import LiveServer
from tests.integration.test_console_support import (
    PASSWORD,
    Api,
    client,
    console_server,
    register,
    seed,
)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with console_server(tmp_path / "data") as live:
        yield live


async def next_event(ws: ClientConnection, kind: str, **data: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == kind and all(event["data"].get(k) == v for k, v in data.items()):
                return dict(event)


def live_url(server: LiveServer, token: str) -> str:
    return f"{server.ws_url}/api/live?token={token}"


async def close_code(url: str) -> tuple[int, str]:
    async with ws_connect(url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_queue_pickup_and_conversation_with_the_widget(server: LiveServer) -> None:
    async with client(server) as http:
        a, b = await register(http, "Alpha"), await register(http, "Bravo")
        seeded = await seed(server, a.tenant_id)
        widget_url = f"{server.ws_url}/ws/browser?agent={seeded.agent.id}&key={seeded.raw_key}"
        async with (
            ws_connect(live_url(server, a.access_token)) as feed,
            ws_connect(live_url(server, b.access_token)) as other,
            ws_connect(widget_url, max_queue=None) as widget,
        ):
            assert (await expect(feed, "ready"))["tenant_id"] == a.tenant_id
            await expect(other, "ready")
            await widget.send(json.dumps({"type": "hello", "sample_rate": 16000}))
            ready = await expect(widget, "ready")
            session = ready["session_id"]
            started = await next_event(feed, "session.started", session_id=session)
            assert started["tenant_id"] == a.tenant_id

            await widget.send(json.dumps({"type": "text", "text": "I want to talk to a person"}))
            await expect(widget, "state", state="handed_off", timeout=10)
            handoff = await next_event(feed, "session.handoff", session_id=session)
            assert "talk to a person" in handoff["data"]["summary"]
            await next_event(feed, "notification", session_id=session)
            await _until_queued(a, session)

            queue = (await a.get("/api/queue")).json()
            assert queue[0]["operator"] == "" and queue[0]["summary"]
            assert (await b.get("/api/queue")).json() == []

            picked = await a.post(f"/api/queue/{session}/pickup")
            assert picked.status_code == 200 and picked.json()["operator"] == a.email
            assert (await expect(widget, "operator"))["name"] == a.email
            await next_event(feed, "session.operator", session_id=session, operator=a.email)
            again = await a.post(f"/api/queue/{session}/pickup")
            assert again.status_code == 200  # the same operator: no change

            sent = await a.post(f"/api/queue/{session}/messages", json={"text": "Hi, Sam here."})
            assert sent.status_code == 201 and sent.json()["role"] == "operator"
            line = await expect(widget, "transcript", role="operator")
            assert line["text"] == "Hi, Sam here." and line["final"] is True
            await next_event(feed, "session.turn", role="operator", text="Hi, Sam here.")

            await widget.send(json.dumps({"type": "text", "text": "My parcel never came"}))
            await next_event(feed, "session.turn", role="caller", text="My parcel never came")

            ended = await a.post(f"/api/queue/{session}/end")
            assert ended.status_code == 200
            await expect(widget, "end")
            await next_event(feed, "session.ended", session_id=session)
            # Nothing of Alpha's reached Bravo's feed.
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await other.recv()

        roles = [t["role"] for t in (await a.get(f"/api/sessions/{session}/transcript")).json()]
        assert roles == ["agent", "caller", "agent", "system", "operator", "caller"]
        record = (await a.get(f"/api/sessions/{session}")).json()
        assert record["status"] == "handoff" and record["ended_at"]
        assert record["has_recording"] is True
        link = (await a.get(f"/api/sessions/{session}/recording")).json()
        wav = await http.get(link["url"])
        assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
        actions = [e["action"] for e in (await a.get("/api/audit")).json()]
        assert "queue.pickup" in actions and "queue.end" in actions


async def _until_queued(api: Api, session: str) -> None:
    async with asyncio.timeout(5):
        while not any(q["session_id"] == session for q in (await api.get("/api/queue")).json()):
            await asyncio.sleep(0.05)


async def test_one_operator_per_call(server: LiveServer) -> None:
    async with client(server) as http:
        a = await register(http, "Alpha")
        seeded = await seed(server, a.tenant_id)
        colleague = User(
            tenant_id=a.tenant_id,
            email="colleague@alpha.example",
            password_hash=hash_password(PASSWORD, 4),
            role="member",
        )
        await server.services.store.put_user(colleague)
        login = await http.post(
            "/api/auth/login", json={"email": colleague.email, "password": PASSWORD}
        )
        other = {"Authorization": f"Bearer {login.json()['access_token']}"}
        widget_url = f"{server.ws_url}/ws/browser?agent={seeded.agent.id}&key={seeded.raw_key}"
        async with ws_connect(widget_url, max_queue=None) as widget:
            await widget.send(json.dumps({"type": "hello", "sample_rate": 16000}))
            session = (await expect(widget, "ready"))["session_id"]
            message = {"text": "hello"}
            early = await a.post(f"/api/queue/{session}/pickup")
            assert early.status_code == 404  # talking to the AI: not in the queue
            await widget.send(json.dumps({"type": "dtmf", "digit": "0"}))
            await _until_queued(a, session)
            unpicked = await a.post(f"/api/queue/{session}/messages", json=message)
            assert unpicked.status_code == 409
            assert (await a.post(f"/api/queue/{session}/pickup")).status_code == 200
            taken = await http.post(f"/api/queue/{session}/pickup", headers=other)
            assert taken.status_code == 409 and a.email in taken.json()["detail"]
            sent = await http.post(f"/api/queue/{session}/messages", json=message, headers=other)
            assert sent.status_code == 409
            empty = await a.post(f"/api/queue/{session}/messages", json={"text": " "})
            assert empty.status_code == 422


async def test_live_feed_refuses_bad_tokens_and_closes_at_expiry(server: LiveServer) -> None:
    async with client(server) as http:
        a = await register(http, "Alpha")
        me = (await http.get("/api/auth/me", headers=a.auth)).json()
    assert (await close_code(live_url(server, "")))[0] == 4401
    assert (await close_code(live_url(server, "junk")))[0] == 4401
    assert (await close_code(live_url(server, a.refresh_token)))[0] == 4401
    secret = server.services.settings.jwt_key()
    claims = {
        "sub": me["id"],
        "tid": me["tenant_id"],
        "email": me["email"],
        "role": "admin",
        "typ": "access",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now(),
    }
    expired = jwt.encode(claims | {"exp": now() - timedelta(seconds=1)}, secret, "HS256")
    assert (await close_code(live_url(server, expired)))[0] == 4401
    short = jwt.encode(claims | {"exp": now() + timedelta(seconds=1)}, secret, "HS256")
    async with ws_connect(live_url(server, short)) as ws:
        await expect(ws, "ready")
        await ws.send(json.dumps({"type": "ping"}))
        await expect(ws, "pong")
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "access token expired")

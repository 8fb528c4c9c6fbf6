"""Sessions, recordings, notifications, API keys and analytics over a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.state import ConsoleState
from oratio_voice.models import CallSession, Notification, now
from tests.conftest import LiveServer
from tests.integration.test_console_support import (
    Api,
    client,
    console_server,
    register,
    seed,
    seed_agent,
)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with console_server(tmp_path / "data") as live:
        yield live


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[Api]:
    async with client(server) as http:
        yield await register(http, "Northwind")


async def add_sessions(server: LiveServer, api: Api) -> tuple[str, str, list[CallSession]]:
    """Ten sessions over three days: browser and twilio, two handed off, one live."""
    one, two = await seed_agent(server, api.tenant_id), await seed_agent(server, api.tenant_id)
    tenant = server.services.store.tenant(api.tenant_id)
    start = now() - timedelta(days=2)
    sessions = []
    for n in range(10):
        began = start + timedelta(hours=5 * n)
        handoff = n in (3, 7)
        session = CallSession(
            tenant_id=api.tenant_id,
            agent_id=one.id if n % 2 else two.id,
            channel="twilio" if n < 4 else "browser",
            status="handoff" if handoff else ("active" if n == 9 else "ended"),
            started_at=began,
            ended_at=None if n == 9 else began + timedelta(seconds=60 + 10 * n),
            handoff_reason=("caller is upset" if n == 3 else "AI fault: engine (timeout)")
            if handoff
            else "",
        )
        sessions.append(await tenant.put_session(session))
    return one.id, two.id, sessions


async def test_history_filters_and_pages(server: LiveServer, api: Api) -> None:
    one, _, sessions = await add_sessions(server, api)
    page = (await api.get("/api/sessions", params={"limit": 4})).json()
    assert [s["id"] for s in page["items"]] == [s.id for s in reversed(sessions)][:4]
    assert page["next_offset"] == 4
    last = (await api.get("/api/sessions", params={"limit": 4, "offset": 8})).json()
    assert len(last["items"]) == 2 and last["next_offset"] is None

    async def ids(**params: str) -> set[str]:
        answer = await api.get("/api/sessions", params={"limit": 200, **params})
        assert answer.status_code == 200, answer.text
        return {s["id"] for s in answer.json()["items"]}

    assert await ids(agent_id=one) == {s.id for s in sessions if s.agent_id == one}
    assert await ids(channel="twilio") == {s.id for s in sessions[:4]}
    assert await ids(handoff="true") == {sessions[3].id, sessions[7].id}
    assert len(await ids(handoff="false")) == 8
    assert await ids(status="active") == {sessions[9].id}
    since = sessions[5].started_at.isoformat()
    until = sessions[8].started_at.isoformat()
    assert await ids(since=since, until=until) == {s.id for s in sessions[5:8]}
    for bad in ({"limit": "0"}, {"limit": "1000"}, {"channel": "fax"}, {"since": "yesterday"}):
        assert (await api.get("/api/sessions", params=bad)).status_code == 422
    one_session = (await api.get(f"/api/sessions/{sessions[3].id}")).json()
    assert one_session["duration_seconds"] == 90 and one_session["has_recording"] is False
    live = (await api.get("/api/sessions/live")).json()
    assert [s["id"] for s in live] == [sessions[9].id]


async def test_transcript_and_signed_recording(server: LiveServer, api: Api) -> None:
    seeded = await seed(server, api.tenant_id)
    turns = (await api.get(f"/api/sessions/{seeded.session.id}/transcript")).json()
    assert [(t["seq"], t["role"]) for t in turns] == [(0, "caller"), (1, "agent")]
    link = (await api.get(f"/api/sessions/{seeded.session.id}/recording")).json()
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(minutes=5)
    audio = await api.http.get(link["url"])  # no bearer token: the link is the authority
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content.startswith(b"RIFF") and len(audio.content) == 1044
    part = await api.http.get(link["url"], headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"RIFF"
    assert part.headers["content-range"] == "bytes 0-3/1044"
    tail = await api.http.get(link["url"], headers={"Range": "bytes=-4"})
    assert tail.content == b"\x01" * 4
    beyond = await api.http.get(link["url"], headers={"Range": "bytes=5000-"})
    assert beyond.status_code == 416
    forged = link["url"][:-6] + "000000"
    assert (await api.http.get(forged)).status_code == 403
    state: ConsoleState = server.services.extra["console"]
    state.recordings.ttl = -1.0
    expired = (await api.get(f"/api/sessions/{seeded.session.id}/recording")).json()
    answer = await api.http.get(expired["url"])
    assert answer.status_code == 403 and "expired" in answer.json()["detail"]


async def test_a_session_without_recording_says_so(server: LiveServer, api: Api) -> None:
    _, _, sessions = await add_sessions(server, api)
    answer = await api.get(f"/api/sessions/{sessions[0].id}/recording")
    assert answer.status_code == 404 and "no recording" in answer.json()["detail"]


async def test_notifications_read_and_acknowledge(server: LiveServer, api: Api) -> None:
    seeded = await seed(server, api.tenant_id)
    tenant = server.services.store.tenant(api.tenant_id)
    await tenant.put_notification(Notification(tenant_id=api.tenant_id, title="second"))
    unread = (await api.get("/api/notifications", params={"unread": "true"})).json()
    assert len(unread) == 2
    read = await api.patch(f"/api/notifications/{seeded.notification.id}/read")
    assert read.status_code == 200 and read.json()["read_at"]
    assert len((await api.get("/api/notifications", params={"unread": "true"})).json()) == 1
    acked = (await api.patch(f"/api/notifications/{seeded.notification.id}/acknowledge")).json()
    assert acked["acknowledged_at"] and acked["read_at"] == read.json()["read_at"]
    audit = (await api.get("/api/audit")).json()
    assert audit[0]["action"] == "notification.acknowledge"
    assert (await api.patch("/api/notifications/ntf_nope/read")).status_code == 404


async def test_api_keys_are_shown_once_and_revocable(server: LiveServer, api: Api) -> None:
    agent = await seed_agent(server, api.tenant_id)
    later = (now() + timedelta(days=30)).isoformat()
    created = await api.post(
        "/api/api-keys",
        json={
            "agent_id": agent.id,
            "name": "website",
            "allowed_origins": ["https://shop.example/"],
            "expires_at": later,
            "rate_limit_per_minute": 30,
        },
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["secret"].startswith(key["prefix"] + ".")
    assert key["allowed_origins"] == ["https://shop.example"] and key["status"] == "active"
    listed = (await api.get("/api/api-keys")).json()
    assert len(listed) == 1 and "secret" not in listed[0]
    assert listed[0]["expires_at"] and listed[0]["usage_count"] == 0
    stored = await server.services.store.tenant(api.tenant_id).get_api_key(key["id"])
    assert key["secret"] not in stored.model_dump_json()
    assert (await api.delete(f"/api/api-keys/{key['id']}")).status_code == 204
    assert (await api.get("/api/api-keys")).json()[0]["status"] == "revoked"
    assert (await api.delete(f"/api/api-keys/{key['id']}")).status_code == 204
    actions = [e["action"] for e in (await api.get("/api/audit")).json()]
    assert actions[:2] == ["api_key.revoke", "api_key.create"]


@pytest.mark.parametrize(
    "body",
    [
        {"allowed_origins": ["shop.example"]},
        {"allowed_origins": ["https://shop.example/path"]},
        {"expires_at": "2001-01-01T00:00:00Z"},
        {"rate_limit_per_minute": 0},
        {"agent_id": ""},
    ],
)
async def test_api_key_input_is_validated(
    server: LiveServer, api: Api, body: dict[str, object]
) -> None:
    agent = await seed_agent(server, api.tenant_id)
    answer = await api.post("/api/api-keys", json={"agent_id": agent.id, **body})
    assert answer.status_code == 422, answer.text


async def test_analytics(server: LiveServer, api: Api) -> None:
    await add_sessions(server, api)
    figures = (await api.get("/api/analytics", params={"days": 7})).json()
    assert figures["total_sessions"] == 10 and figures["finished_sessions"] == 9
    assert len(figures["calls_per_day"]) == 7
    assert sum(d["total"] for d in figures["calls_per_day"]) == 10
    assert figures["handoff_rate"] == round(2 / 9, 4)
    assert figures["containment_rate"] == round(7 / 9, 4)
    assert figures["average_duration_seconds"] == 100.0
    reasons = {r["reason"]: r["count"] for r in figures["top_handoff_reasons"]}
    assert reasons == {"caller is upset": 1, "AI fault: engine": 1}
    channels = {c["channel"]: c for c in figures["by_channel"]}
    assert channels["twilio"]["total"] == 4 and channels["browser"]["handoff"] == 1
    assert (await api.get("/api/analytics", params={"days": 0})).status_code == 422

"""Tenant isolation across the console API: a second organization's token reaches none of the
first's records. Every id-based endpoint answers 404 for another tenant's id with the same
body as for an id that does not exist (no existence leak), every list leaves them out, and
no write lands. One server for the module; each probe is its own test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from oratio_voice.models import new_id
from tests.conftest import LiveServer
from tests.integration.test_console_support import (
    Api,
    Seeded,
    client,
    console_server,
    register,
    seed,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    server: LiveServer
    a: Api
    b: Api
    seeded_a: Seeded
    seeded_b: Seeded
    live_call: str  # A's handed-off widget call, waiting in A's human queue


async def _handed_off_call(server: LiveServer, seeded: Seeded) -> tuple[ClientConnection, str]:
    url = f"{server.ws_url}/ws/browser?agent={seeded.agent.id}&key={seeded.raw_key}"
    socket = await ws_connect(url, max_queue=None)
    await socket.send(json.dumps({"type": "hello", "sample_rate": 16000}))
    session_id = ""
    async with asyncio.timeout(10):
        while True:
            raw = await socket.recv()
            if isinstance(raw, bytes):
                continue
            message = json.loads(raw)
            if message["type"] == "ready":
                session_id = message["session_id"]
                await socket.send(json.dumps({"type": "text", "text": "I want a person"}))
            if message["type"] == "state" and message.get("state") == "handed_off":
                break
    call = server.services.live.get(session_id)
    async with asyncio.timeout(5):
        while call is None or not call.handed_over:
            await asyncio.sleep(0.05)
            call = server.services.live.get(session_id)
    return socket, session_id


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("isolation") / "data"
    async with console_server(data_dir) as server, client(server) as http:
        a = await register(http, "Alpha")
        b = await register(http, "Bravo")
        seeded_a, seeded_b = await seed(server, a.tenant_id), await seed(server, b.tenant_id)
        socket, live_call = await _handed_off_call(server, seeded_a)
        yield World(server, a, b, seeded_a, seeded_b, live_call)
        await socket.close()


def _ids(w: World) -> dict[str, str]:
    s = w.seeded_a
    return {
        "agent": s.agent.id,
        "session": s.session.id,
        "notification": s.notification.id,
        "key": s.key_id,
        "live": w.live_call,
    }


# (method, path, json body) with {agent}, {session}, ... filled from tenant A's records.
BY_ID: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/agents/{agent}", None),
    ("PATCH", "/api/agents/{agent}", {"name": "taken over"}),
    ("PATCH", "/api/agents/{agent}/config", {"voice": "matthew", "phone_numbers": []}),
    ("PUT", "/api/agents/{agent}/pause", None),
    ("PUT", "/api/agents/{agent}/resume", None),
    ("DELETE", "/api/agents/{agent}", None),
    ("GET", "/api/agents/{agent}/build/status", None),
    ("GET", "/api/agents/{agent}/build", None),
    ("POST", "/api/api-keys", {"agent_id": "{agent}", "name": "stolen"}),
    ("DELETE", "/api/api-keys/{key}", None),
    ("GET", "/api/sessions/{session}", None),
    ("GET", "/api/sessions/{session}/transcript", None),
    ("GET", "/api/sessions/{session}/recording", None),
    ("PATCH", "/api/notifications/{notification}/read", None),
    ("PATCH", "/api/notifications/{notification}/acknowledge", None),
    ("POST", "/api/queue/{live}/pickup", None),
    ("POST", "/api/queue/{live}/messages", {"text": "hello from another company"}),
    ("POST", "/api/queue/{live}/end", None),
]


def _fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


@pytest.mark.parametrize(("method", "path", "body"), BY_ID, ids=[f"{m} {p}" for m, p, _ in BY_ID])
async def test_another_tenants_id_reads_as_absent(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    ids = _ids(world)
    unknown = {name: new_id(value[:3]) for name, value in ids.items()}
    theirs = await world.b.request(method, _fill(path, ids), json=_fill(body, ids))
    absent = await world.b.request(method, _fill(path, unknown), json=_fill(body, unknown))
    assert theirs.status_code == 404, theirs.text
    assert absent.status_code == 404, absent.text
    detail, other = theirs.json()["detail"], absent.json()["detail"]
    for name in ids:
        detail = detail.replace(ids[name], "ID")
        other = other.replace(unknown[name], "ID")
    assert detail == other  # the same words whether the record exists elsewhere or not


async def _chat(world: World, agent_id: str, key: str, **body: Any) -> httpx.Response:
    return await world.b.http.post(
        f"/api/chat/{agent_id}", headers={"X-Api-Key": key}, json={"message": "hi", **body}
    )


async def test_chat_with_a_key_of_another_tenant_finds_no_agent(world: World) -> None:
    theirs = await _chat(world, world.seeded_a.agent.id, world.seeded_b.raw_key)
    absent = await _chat(world, new_id("agt"), world.seeded_b.raw_key)
    assert theirs.status_code == absent.status_code == 404


async def test_chat_cannot_continue_another_tenants_session(world: World) -> None:
    answer = await _chat(
        world,
        world.seeded_b.agent.id,
        world.seeded_b.raw_key,
        session_id=world.seeded_a.session.id,
    )
    assert answer.status_code == 404, answer.text


async def test_a_recording_link_cannot_be_bent_to_another_session(world: World) -> None:
    link = (await world.b.get(f"/api/sessions/{world.seeded_b.session.id}/recording")).json()
    assert (await world.b.http.get(link["url"])).status_code == 200
    bent = link["url"].replace(world.seeded_b.session.id, world.seeded_a.session.id)
    made_up = link["url"].replace(world.seeded_b.session.id, new_id("ses"))
    assert (await world.b.http.get(bent)).status_code == 403
    assert (await world.b.http.get(made_up)).status_code == 403
    other_tenant = link["url"].replace(world.b.tenant_id, world.a.tenant_id)
    assert (await world.b.http.get(other_tenant)).status_code == 403


LISTS: list[tuple[str, Callable[[Any], list[str]]]] = [
    ("/api/agents", lambda body: [a["id"] for a in body]),
    ("/api/agents?include_archived=true", lambda body: [a["id"] for a in body]),
    ("/api/api-keys", lambda body: [k["id"] for k in body] + [k["agent_id"] for k in body]),
    ("/api/sessions", lambda body: [s["id"] for s in body["items"]]),
    ("/api/sessions/live", lambda body: [s["id"] for s in body]),
    ("/api/notifications", lambda body: [n["id"] for n in body]),
    ("/api/audit?limit=1000", lambda body: [e["actor"] for e in body]),
    ("/api/queue", lambda body: [q["session_id"] for q in body]),
]


@pytest.mark.parametrize(("path", "ids_of"), LISTS, ids=[p for p, _ in LISTS])
async def test_lists_hold_only_the_tenants_own_records(
    world: World, path: str, ids_of: Callable[[Any], list[str]]
) -> None:
    answer = await world.b.get(path)
    assert answer.status_code == 200, answer.text
    listed = set(ids_of(answer.json()))
    assert not listed & {*_ids(world).values(), world.a.email}


async def test_filtering_by_another_tenants_agent_finds_nothing(world: World) -> None:
    agent = world.seeded_a.agent.id
    sessions = await world.b.get("/api/sessions", params={"agent_id": agent})
    keys = await world.b.get("/api/api-keys", params={"agent_id": agent})
    assert sessions.json()["items"] == [] and keys.json() == []


async def test_analytics_count_only_the_tenants_sessions(world: World) -> None:
    figures = (await world.b.get("/api/analytics")).json()
    mine = await world.b.get("/api/sessions", params={"limit": 200})
    assert figures["total_sessions"] == len(mine.json()["items"]) == 1


async def test_nothing_of_the_first_tenant_changed(world: World) -> None:
    """Runs last: after every write probe above, tenant A's records are as they were."""
    a, s = world.a, world.seeded_a
    agent = (await a.get(f"/api/agents/{s.agent.id}")).json()
    assert agent["name"] == "Returns" and agent["status"] == "active"
    assert agent["config"]["voice"] == "tiffany"
    keys = (await a.get("/api/api-keys")).json()
    assert [k["status"] for k in keys] == ["active"] and len(keys) == 1
    notes = (await a.get("/api/notifications")).json()
    assert notes[0]["read_at"] is None and notes[0]["acknowledged_at"] is None
    queue = (await a.get("/api/queue")).json()
    assert [q["session_id"] for q in queue] == [world.live_call]
    assert queue[0]["operator"] == ""
    assert all(t["role"] != "operator" for t in queue[0]["transcript"])

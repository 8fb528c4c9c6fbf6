"""Text chat with a publishable API key over a real server: grounded answers with sources, a
session with history, handoff, and every way a key can be refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from oratio_voice.keys import issue_key
from oratio_voice.models import now
from tests.conftest import LiveServer
from tests.integration.test_console_support import (
    Api,
    Seeded,
    client,
    console_server,
    register,
    seed,
)

ORIGIN = "https://shop.example"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with console_server(tmp_path / "data") as live:
        yield live


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[Api]:
    async with client(server) as http:
        yield await register(http, "Northwind")


@pytest.fixture
async def seeded(server: LiveServer, api: Api) -> Seeded:
    return await seed(server, api.tenant_id)


async def chat(
    http: httpx.AsyncClient, agent_id: str, key: str, message: str, **extra: Any
) -> httpx.Response:
    headers = {"X-Api-Key": key, "Origin": ORIGIN, **extra.pop("headers", {})}
    return await http.post(
        f"/api/chat/{agent_id}", json={"message": message, **extra}, headers=headers
    )


async def test_chat_answers_from_the_sop_in_one_session(api: Api, seeded: Seeded) -> None:
    first = await chat(
        api.http, seeded.agent.id, seeded.raw_key, "How many days do I have to return?"
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert "30 days" in body["answer"] and body["handoff"] is False
    assert body["sources"] and "retail-returns.md" in body["sources"][0]
    assert first.headers["access-control-allow-origin"] == ORIGIN
    session = body["session_id"]
    second = await chat(
        api.http,
        seeded.agent.id,
        seeded.raw_key,
        "and what about refunds?",
        session_id=session,
        headers={"X-Api-Key": "", "Authorization": f"Bearer {seeded.raw_key}"},
    )
    assert second.status_code == 200 and second.json()["session_id"] == session
    turns = (await api.get(f"/api/sessions/{session}/transcript")).json()
    assert [t["role"] for t in turns] == ["caller", "agent", "caller", "agent"]
    stored = (await api.get(f"/api/sessions/{session}")).json()
    assert stored["channel"] == "chat" and stored["status"] == "ended"
    keys = (await api.get("/api/api-keys")).json()
    assert keys[0]["usage_count"] == 2 and keys[0]["last_used_at"]


async def test_asking_for_a_person_hands_the_chat_off(api: Api, seeded: Seeded) -> None:
    first = await chat(api.http, seeded.agent.id, seeded.raw_key, "I want to talk to a person")
    body = first.json()
    assert body["handoff"] is True and body["handoff_reason"] == "caller asked for a person"
    later = await chat(
        api.http, seeded.agent.id, seeded.raw_key, "hello?", session_id=body["session_id"]
    )
    assert later.json()["handoff"] is True and "team" in later.json()["answer"]
    session = (await api.get(f"/api/sessions/{body['session_id']}")).json()
    assert session["status"] == "handoff" and "talk to a person" in session["summary"]
    notes = (await api.get("/api/notifications")).json()
    mine = [n for n in notes if n["session_id"] == body["session_id"]]
    assert [n["kind"] for n in mine] == ["handoff"]  # one notification, not one per message


async def test_a_paused_agent_hands_every_chat_to_a_person(api: Api, seeded: Seeded) -> None:
    await api.put(f"/api/agents/{seeded.agent.id}/pause")
    answer = (await chat(api.http, seeded.agent.id, seeded.raw_key, "returns?")).json()
    assert answer["handoff"] is True and answer["handoff_reason"] == "agent paused"


async def test_refused_keys(server: LiveServer, api: Api, seeded: Seeded) -> None:
    tenant = server.services.store.tenant(api.tenant_id)
    agent = seeded.agent.id

    async def key(**fields: Any) -> str:
        record, raw = issue_key(api.tenant_id, agent, name="t")
        await tenant.put_api_key(record.model_copy(update=fields))
        return raw

    revoked = await key(revoked_at=now())
    expired = await key(expires_at=now() - timedelta(seconds=1))
    elsewhere = await key(allowed_origins=["https://other.example"])
    limited = await key(rate_limit_per_minute=2)
    cases = {
        "none": ("", 401),
        "junk": ("not-a-key", 401),
        "forged": (seeded.raw_key[:-4] + "AAAA", 401),
        "revoked": (revoked, 401),
        "expired": (expired, 401),
        "wrong origin": (elsewhere, 403),
    }
    for name, (raw, status) in cases.items():
        answer = await chat(api.http, agent, raw, "hi")
        assert answer.status_code == status, name
        assert answer.json()["detail"]
        assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert (await chat(api.http, agent, limited, "hi")).status_code == 200
    assert (await chat(api.http, agent, limited, "hi")).status_code == 200
    over = await chat(api.http, agent, limited, "hi")
    assert over.status_code == 429 and "rate limit" in over.json()["detail"]
    assert (await chat(api.http, "agt_unknown", seeded.raw_key, "hi")).status_code == 404
    unknown_session = await chat(api.http, agent, seeded.raw_key, "hi", session_id="ses_nope")
    assert unknown_session.status_code == 404


async def test_revoking_through_the_console_stops_chat_at_once(api: Api, seeded: Seeded) -> None:
    assert (await chat(api.http, seeded.agent.id, seeded.raw_key, "hi")).status_code == 200
    await api.delete(f"/api/api-keys/{seeded.key_id}")
    assert (await chat(api.http, seeded.agent.id, seeded.raw_key, "hi")).status_code == 401
    await api.delete(f"/api/agents/{seeded.agent.id}")
    assert (await chat(api.http, seeded.agent.id, seeded.raw_key, "hi")).status_code == 401


async def test_chat_input_and_cors_preflight(api: Api, seeded: Seeded) -> None:
    empty = await chat(api.http, seeded.agent.id, seeded.raw_key, "   ")
    huge = await chat(api.http, seeded.agent.id, seeded.raw_key, "x" * 2001)
    assert empty.status_code == huge.status_code == 422
    preflight = await api.http.options(
        f"/api/chat/{seeded.agent.id}",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "X-Api-Key" in preflight.headers["access-control-allow-headers"]


async def test_a_building_agent_does_not_chat(server: LiveServer, api: Api, seeded: Seeded) -> None:
    tenant = server.services.store.tenant(api.tenant_id)
    await tenant.put_agent(seeded.agent.model_copy(update={"status": "building"}))
    answer = await chat(api.http, seeded.agent.id, seeded.raw_key, "hi")
    assert answer.status_code == 409

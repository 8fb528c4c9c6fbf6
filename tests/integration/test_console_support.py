"""Shared pieces of the console API tests (no tests here): a real server on loopback with a
fresh SQLite file, an HTTP client signed in as one organization, and seeded records."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from oratio_voice.demo import SAMPLE_SOP
from oratio_voice.keys import issue_key
from oratio_voice.models import Agent, CallSession, Document, Notification, Turn, now
from oratio_voice.store.base import TenantStore
from tests.conftest import LiveServer, start_server
from tests.scripted_engine import ScriptedEngine

PASSWORD = "correct horse battery staple"
FAST = {
    "agent_runtime": "inprocess",
    "bcrypt_rounds": 4,
    "resume_grace_seconds": 1.0,
    "max_upload_bytes": 256 * 1024,
    "max_upload_request_bytes": 1024 * 1024,
}
_numbers = itertools.count(1)


@asynccontextmanager
async def console_server(
    data_dir: Path, engine: ScriptedEngine | None = None, **settings: Any
) -> AsyncIterator[LiveServer]:
    server, task, live = await start_server(data_dir, engine or ScriptedEngine(), **FAST | settings)
    try:
        yield live
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@dataclass
class Api:
    """An HTTP client signed in as one organization's admin."""

    http: httpx.AsyncClient
    email: str
    access_token: str
    refresh_token: str
    tenant_id: str
    user_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


async def register(http: httpx.AsyncClient, organization: str, email: str = "") -> Api:
    email = email or f"admin{next(_numbers)}@{organization.lower().replace(' ', '')}.example"
    answer = await http.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "organization": organization},
    )
    assert answer.status_code == 201, answer.text
    tokens = answer.json()
    me = await http.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200, me.text
    return Api(
        http,
        email,
        tokens["access_token"],
        tokens["refresh_token"],
        me.json()["tenant_id"],
        me.json()["id"],
    )


def client(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, timeout=30)


@dataclass
class Seeded:
    """One organization's records, written straight through its store."""

    agent: Agent
    session: CallSession
    notification: Notification
    key_id: str
    raw_key: str


async def seed_agent(server: LiveServer, tenant_id: str, name: str = "Returns") -> Agent:
    """An active agent answering from the sample SOP (no build needed)."""
    text = SAMPLE_SOP.read_bytes()
    agent = Agent(tenant_id=tenant_id, name=name)
    document = Document(
        name=SAMPLE_SOP.name,
        blob_key=f"{tenant_id}/agents/{agent.id}/docs/{SAMPLE_SOP.name}",
        sha256=hashlib.sha256(text).hexdigest(),
        size=len(text),
    )
    await server.services.blobs.put(document.blob_key, text)
    agent.documents = [document]
    await server.services.store.tenant(tenant_id).put_agent(agent)
    return agent


async def seed(server: LiveServer, tenant_id: str) -> Seeded:
    store: TenantStore = server.services.store.tenant(tenant_id)
    agent = await seed_agent(server, tenant_id)
    session = CallSession(
        tenant_id=tenant_id,
        agent_id=agent.id,
        channel="browser",
        status="handoff",
        handoff_reason="caller asked for a person",
        ended_at=now(),
        recording_key=f"{tenant_id}/recordings/seeded.wav",
    )
    await server.services.blobs.put(session.recording_key, b"RIFF" + bytes(40) + b"\x01" * 1000)
    await store.put_session(session)
    for seq, (role, text) in enumerate((("caller", "hello"), ("agent", "Hi! How can I help?"))):
        await store.add_turn(
            Turn(tenant_id=tenant_id, session_id=session.id, seq=seq, role=role, text=text)
        )
    note = Notification(
        tenant_id=tenant_id, title="handed off", session_id=session.id, agent_id=agent.id
    )
    await store.put_notification(note)
    key, raw = issue_key(tenant_id, agent.id, name="seeded")
    await store.put_api_key(key)
    return Seeded(agent, session, note, key.id, raw)

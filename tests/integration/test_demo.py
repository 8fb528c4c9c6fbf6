"""`oratio demo` seeding: the sample agent, its key and a console login, idempotently."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import LiveServer, start_server
from tests.scripted_engine import ScriptedEngine


async def test_the_demo_console_login_works(server: LiveServer) -> None:
    password = (server.data_dir / "demo-console-password").read_text()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        login = await http.post(
            "/api/auth/login", json={"email": "demo@northwind.example", "password": password}
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        agents = await http.get("/api/agents", headers={"authorization": f"Bearer {token}"})
    assert [a["id"] for a in agents.json()] == [server.demo["agent_id"]]
    assert (server.data_dir / "demo-console-password").stat().st_mode & 0o077 == 0


async def test_seeding_twice_keeps_the_same_agent_key_and_login(tmp_path: Path) -> None:
    seen = []
    for _ in range(2):
        uv, task, live = await start_server(
            tmp_path / "data", ScriptedEngine(), agent_runtime="inprocess"
        )
        seen.append((live.demo, (tmp_path / "data" / "demo-console-password").read_text()))
        uv.should_exit = True
        await asyncio.wait_for(task, 10)
    assert seen[0] == seen[1]

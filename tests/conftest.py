"""Shared fixtures: a real Oratio server on loopback with a fresh data dir."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from oratio_voice.app import create_app
from oratio_voice.config import Settings
from oratio_voice.demo import DEMO_TENANT
from oratio_voice.services import Services
from pipeline.engines.base import SpeechEngine
from tests.scripted_engine import ScriptedEngine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    ws_url: str
    services: Services
    demo: dict[str, str]
    data_dir: Path
    demo_tenant: str = DEMO_TENANT

    def browser_url(self, agent: str | None = None, key: str | None = None) -> str:
        agent = self.demo["agent_id"] if agent is None else agent
        key = self.demo["api_key"] if key is None else key
        return f"{self.ws_url}/ws/browser?agent={agent}&key={key}"


async def start_server(
    data_dir: Path, engine: SpeechEngine, **settings: object
) -> tuple[uvicorn.Server, asyncio.Task[None], LiveServer]:
    port = free_port()
    config = Settings(data_dir=data_dir, host="127.0.0.1", port=port, **settings)  # type: ignore[arg-type]
    app = create_app(config, engine=engine, demo=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    services: Services = app.state.oratio
    live = LiveServer(
        f"http://127.0.0.1:{port}",
        f"ws://127.0.0.1:{port}",
        services,
        services.extra["demo"],
        data_dir,
    )
    return server, task, live


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
async def server(tmp_path: Path, engine: ScriptedEngine) -> AsyncIterator[LiveServer]:
    uv_server, task, live = await start_server(
        tmp_path / "data", engine, resume_grace_seconds=1.0, agent_runtime="inprocess"
    )
    yield live
    uv_server.should_exit = True
    await asyncio.wait_for(task, 10)

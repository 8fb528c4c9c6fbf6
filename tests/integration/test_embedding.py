"""Embedding: Oratio's routes join someone else's FastAPI app, lifespan included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from oratio_voice.app import mount
from oratio_voice.config import Settings
from tests.scripted_engine import ScriptedEngine


def test_mount_adds_oratio_to_an_existing_app(tmp_path: Path) -> None:
    started = []

    @asynccontextmanager
    async def own_lifespan(app: FastAPI) -> AsyncIterator[None]:
        started.append(True)
        yield

    app = FastAPI(lifespan=own_lifespan)

    @app.get("/mine")
    async def mine() -> dict[str, bool]:
        return {"mine": True}

    mount(app, Settings(data_dir=tmp_path), engine=ScriptedEngine())
    with TestClient(app) as client:
        assert client.get("/mine").json() == {"mine": True}
        ready = client.get("/readyz").json()
        assert ready["ready"] and ready["checks"]["store"] == "ok"
        assert client.get("/widget.js").status_code == 200
        assert client.get("/api/agents").status_code == 401
    assert started == [True]
    assert (tmp_path / "oratio.db").exists()

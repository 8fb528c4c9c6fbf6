"""A website caller for tests: the browser call protocol (connectors/web/PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

ORIGIN = "http://shop.example"


def connect(url: str, origin: str = ORIGIN) -> ws_connect:
    """A client that buffers what it does not read (audio), like a browser does."""
    return ws_connect(url, origin=origin, max_queue=None)


async def hello(ws: ClientConnection, rate: int = 16000, resume: str = "") -> dict[str, Any]:
    await ws.send(json.dumps({"type": "hello", "sample_rate": rate, "resume": resume}))
    return await expect(ws, "ready")


async def expect(ws: ClientConnection, kind: str, timeout: float = 5.0, **match: Any) -> Any:
    """The next JSON message of `kind` whose fields match (skipping audio and others)."""
    async with asyncio.timeout(timeout):
        while True:
            raw = await ws.recv()
            if isinstance(raw, bytes):
                continue
            message = json.loads(raw)
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message

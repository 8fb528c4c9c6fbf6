"""Helpers for the console's browser tests: the real `oratio demo` server as a subprocess (agents
answered in-process, so it starts fast), and a website caller speaking the browser call protocol
(connectors/web/PROTOCOL.md) over a real WebSocket from a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.e2e.server import REPO, DemoServer, running_demo

SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

Message = dict[str, Any]


ConsoleServer = DemoServer


def console_server(data_dir: Path) -> contextlib.AbstractContextManager[DemoServer]:
    """`oratio demo` with agents answered in-process, so it starts fast."""
    return running_demo(data_dir, ORATIO_AGENT_RUNTIME="inprocess")


class WebsiteCaller:
    """A caller on the website widget's WebSocket, typing instead of speaking.

    Runs its own event loop in a thread so a synchronous Playwright test can drive it; every
    JSON message from the server is kept in `messages` (audio is only counted)."""

    def __init__(self, server: ConsoleServer, agent_id: str, key: str) -> None:
        self.messages: list[Message] = []
        self.audio_bytes = 0
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        url = f"{server.ws_url}/ws/browser?agent={agent_id}&key={key}"
        self._socket: ClientConnection = self._call(self._open(url, server.base_url))
        self._reader = asyncio.run_coroutine_threadsafe(self._read(), self._loop)
        self.send(type="hello", sample_rate=16000)

    @staticmethod
    async def _open(url: str, origin: str) -> ClientConnection:
        return await connect(url, origin=Origin(origin), proxy=None, max_size=4 << 20)

    def _call(self, coroutine: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for message in self._socket:
                if isinstance(message, bytes):
                    self.audio_bytes += len(message)
                    continue
                with self._changed:
                    self.messages.append(json.loads(message))
                    self._changed.notify_all()

    def send(self, **message: Any) -> None:
        self._call(self._socket.send(json.dumps(message)))

    def say(self, text: str) -> None:
        self.send(type="text", text=text)

    def wait_for(self, matches: Callable[[Message], bool], timeout: float = 30) -> Message:
        """The first message (received so far or later) for which `matches` is true."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for m in self.messages if matches(m)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching message in {timeout} s: {self.messages}")
                self._changed.wait(remaining)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send(type="bye")
        with contextlib.suppress(Exception):
            self._call(self._socket.close(), timeout=5)
        with contextlib.suppress(Exception):
            self._reader.result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

"""The outbound half of a call socket: one bounded queue, one writer task. A stalled peer
loses queued audio, never control messages, and never slows the call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

Wire = str | bytes


class SocketWriter:
    def __init__(
        self,
        send: Callable[[Wire], Awaitable[None]],
        is_audio: Callable[[Wire], bool],
        max_queue: int,
    ) -> None:
        self._send = send
        self._is_audio = is_audio
        self._queue: asyncio.Queue[Wire | None] = asyncio.Queue(max_queue)
        self._task = asyncio.ensure_future(self._write())

    def put(self, item: Wire) -> None:
        self._put(item)

    def drop_audio(self) -> None:
        """Barge-in: audio not yet written is never sent."""
        kept = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None or not self._is_audio(item):
                kept.append(item)
        for item in kept:
            self._queue.put_nowait(item)

    async def flush(self, timeout: float = 2.0) -> None:
        """Write what is queued (up to `timeout`), then stop."""
        self._put(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        self._task.cancel()

    def abandon(self) -> None:
        """The socket is gone: stop writing to it."""
        self._task.cancel()

    def _put(self, item: Wire | None) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            if item is None or not self._is_audio(item):
                self.drop_audio()
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(item)

    async def _write(self) -> None:
        with contextlib.suppress(Exception):
            while (item := await self._queue.get()) is not None:
                await self._send(item)

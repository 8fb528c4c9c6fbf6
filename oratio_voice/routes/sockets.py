"""What the call WebSocket routes share."""

from __future__ import annotations

import contextlib

from fastapi import WebSocket


async def close_socket(socket: WebSocket, code: int, reason: str) -> None:
    """Close with a code and a short reason; a socket already gone is fine."""
    with contextlib.suppress(Exception):
        await socket.close(code, reason[:120])

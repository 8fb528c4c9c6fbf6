"""WS /api/live?token=<access token>: the signed-in user's organization's events as they happen.

Server -> client: `{"type": "ready", "tenant_id", "user"}` once, then each event as
`{"type", "tenant_id", "data", "at"}` (session.started, session.turn, session.handoff,
session.ended, session.operator, notification, notification.updated, agent.updated).
Client -> server: `{"type": "ping"}` (answered with `{"type": "pong"}`); anything else is
ignored. Close codes: 4401 missing, invalid or expired token (the socket closes when the
token expires: reconnect with a fresh one), 1000 server shutting down."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from console.auth import AuthError
from console.deps import Principal, principal_from_token, services_of, state_of
from oratio_voice.events import Subscription
from oratio_voice.models import now

log = logging.getLogger(__name__)
router = APIRouter()

MAX_CLIENT_MESSAGE = 4096


@router.websocket("/api/live")
async def live(socket: WebSocket, token: str = "") -> None:
    await socket.accept()
    services = services_of(socket)
    try:
        principal = await principal_from_token(services, state_of(socket), token)
        expires_in = _expires_in(socket, token)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, AuthError) else "console unavailable"
        with contextlib.suppress(Exception):
            await socket.close(4401, reason[:120])
        return
    async with services.events.subscribe(principal.tenant_id) as subscription:
        await socket.send_json(
            {"type": "ready", "tenant_id": principal.tenant_id, "user": principal.user.email}
        )
        await _serve(socket, principal, subscription, expires_in)


def _expires_in(socket: WebSocket, token: str) -> float | None:
    """Seconds until a local access token expires (None in Cognito mode: checked per token)."""
    state = state_of(socket)
    if state.cognito is not None:
        return None
    claims = state.tokens.verify_access(token)
    return max((claims.expires_at - now()).total_seconds(), 0.0)


async def _serve(
    socket: WebSocket, principal: Principal, subscription: Subscription, expires_in: float | None
) -> None:
    pump = asyncio.ensure_future(_pump(socket, subscription))
    listen = asyncio.ensure_future(_listen(socket))
    tasks = {pump, listen}
    expiry = None
    if expires_in is not None:
        expiry = asyncio.ensure_future(asyncio.sleep(expires_in))
        tasks.add(expiry)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    code, reason = (4401, "access token expired") if expiry in done else (1000, "")
    if listen not in done:
        with contextlib.suppress(Exception):
            await socket.close(code, reason)


async def _pump(socket: WebSocket, subscription: Subscription) -> None:
    async for event in subscription:
        await socket.send_text(json.dumps(event.to_dict(), separators=(",", ":")))


async def _listen(socket: WebSocket) -> None:
    """Until the client goes away; answers pings."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or ""
            if len(text) > MAX_CLIENT_MESSAGE:
                continue
            with contextlib.suppress(ValueError):
                parsed = json.loads(text)
                if isinstance(parsed, dict) and parsed.get("type") == "ping":
                    await socket.send_json({"type": "pong"})

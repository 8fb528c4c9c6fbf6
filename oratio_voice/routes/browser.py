"""`/ws/browser`: a website caller's call, per connectors/web/PROTOCOL.md."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from connectors.browser import BrowserConnector, Hello, ProtocolError, SoftError, parse_hello
from connectors.browser import parse_message as parse_browser_message
from oratio_voice.calls import Call
from oratio_voice.keys import KeyRejected
from oratio_voice.models import Agent
from oratio_voice.routes.sockets import close_socket
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound
from pipeline.frames import EndFrame

log = logging.getLogger(__name__)
router = APIRouter()

HELLO_TIMEOUT = 10.0
ENGINE_RATE = 16000
CALLER_HUNG_UP = frozenset({1000, 1001})  # a clean close; anything else may reconnect


class CloseCall(Exception):
    """Close the socket with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@router.websocket("/ws/browser")
async def browser_call(socket: WebSocket, agent: str = "", key: str = "") -> None:
    services: Services = socket.app.state.oratio
    await socket.accept()
    try:
        found = await _authorize(services, agent, key, socket.headers.get("origin"))
        hello = parse_hello(await _receive_text(socket, services, HELLO_TIMEOUT))
        await _serve(socket, services, found, hello)
    except CloseCall as exc:
        await close_socket(socket, exc.code, str(exc))
    except (KeyRejected, ProtocolError) as exc:
        await close_socket(socket, exc.code, str(exc))
    except WebSocketDisconnect:
        return


async def _authorize(services: Services, agent_id: str, key: str, origin: str | None) -> Agent:
    api_key = await services.keys.authenticate(key, agent_id, origin)
    try:
        agent = await services.store.tenant(api_key.tenant_id).get_agent(agent_id)
    except NotFound:
        raise CloseCall(4404, "unknown agent") from None
    if agent.status == "archived":
        raise CloseCall(4404, "unknown agent")
    return agent


async def _serve(socket: WebSocket, services: Services, agent: Agent, hello: Hello) -> None:
    connector = BrowserConnector(socket)
    if hello.resume:
        resumed = services.live.resume(hello.resume, agent.id)
        if resumed is None:
            connector.abandon()
            raise CloseCall(4409, "resume token invalid or grace period over")
        call = resumed
        call.attach(connector)
    else:
        call = await services.live.open(
            agent,
            channel="browser",
            connector=connector,
            wire_in_rate=hello.sample_rate,
            wire_out_rate=ENGINE_RATE,
            engine_rate=ENGINE_RATE,
            caller=socket.headers.get("origin", ""),
        )
    connector.send_message(
        type="ready",
        session_id=call.id,
        resume_token=call.resume_token,
        sample_rate=call.wire_out_rate,
        agent={"id": agent.id, "name": agent.name},
        resumed=bool(hello.resume),
        transcript=[{"role": t.role, "text": t.text} for t in call.turns],
    )
    if call.record.status == "handoff":
        connector.send_message(type="state", state="handed_off")
    await _pump(socket, services, call, connector, hello.sample_rate)


async def _pump(
    socket: WebSocket, services: Services, call: Call, connector: BrowserConnector, rate: int
) -> None:
    """Caller messages into the call until the caller leaves, the call ends or breaks."""
    limit = services.settings.max_ws_message_bytes
    try:
        while call.live:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1006))
            data = message.get("bytes")
            if data is None:
                data = message.get("text") or ""
            if len(data) > limit:
                raise ProtocolError(f"message larger than {limit} bytes", code=4413)
            try:
                frame = parse_browser_message(data, rate)
            except SoftError as exc:
                connector.send_message(type="error", code="bad_message", message=str(exc))
                continue
            if isinstance(frame, EndFrame):
                await call.end(frame.reason)
                return
            call.push(frame)
    except ProtocolError as exc:
        call.detach()
        await call.end(f"protocol error: {exc}")
        await connector.close(exc.code, str(exc))
    except WebSocketDisconnect as gone:
        connector.abandon()
        if call.connector is not connector:
            return
        if gone.code in CALLER_HUNG_UP:
            call.detach()
            await call.end("caller hung up")
        else:  # the network dropped: keep the call for the reconnect grace period
            services.live.hold(call)
    except Exception:
        log.exception("browser call %s failed", call.id)
        call.detach()
        await call.end("internal error", status="failed")
        await connector.close(1011, "internal error")


async def _receive_text(socket: WebSocket, services: Services, timeout: float) -> str:
    try:
        message = await asyncio.wait_for(socket.receive(), timeout)
    except TimeoutError:
        raise ProtocolError("no hello received") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1006))
    text = message.get("text")
    if text is None:
        raise ProtocolError("the first message must be a JSON hello")
    if len(text) > services.settings.max_ws_message_bytes:
        raise ProtocolError("message too large", code=4413)
    return str(text)

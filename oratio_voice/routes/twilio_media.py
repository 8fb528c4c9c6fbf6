"""`/twilio/media`: a phone call's Twilio Media Stream (bidirectional <Connect><Stream>)."""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse

from connectors.twilio import (
    RATE,
    Mark,
    ProtocolError,
    SoftError,
    Start,
    Stop,
    StreamEvent,
    TwilioConnector,
    parse_event,
)
from oratio_voice.calls import Call
from oratio_voice.models import Agent
from oratio_voice.routes.sockets import close_socket
from oratio_voice.routes.twilio_auth import (
    StreamGrant,
    TokenRejected,
    TwilioState,
    http_base,
    public_url,
    twilio_state,
)
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound
from pipeline.frames import DTMFFrame, InputAudioFrame

log = logging.getLogger(__name__)
router = APIRouter()

START_TIMEOUT = 10.0
MAX_BAD_IN_A_ROW = 50  # malformed messages skipped before the stream counts as broken
LOGGED_BAD = 5  # per call; the rest are counted, not logged


@router.websocket("/twilio/media")
async def media_stream(socket: WebSocket) -> None:
    services: Services = socket.app.state.oratio
    state = twilio_state(services)
    url = public_url(socket.url, socket.headers, services.settings)
    if not state.signature_ok(url, {}, socket.headers.get("x-twilio-signature")):
        log.warning("rejected a Media Stream handshake with a bad signature for %s", url)
        await _deny(socket)
        return
    await socket.accept()
    try:
        start = await _wait_for_start(socket, services)
        if start is None:
            await close_socket(socket, 1000, "stream stopped before start")
            return
        grant = state.tokens.redeem(start.parameters.get("token", ""), start.call_sid)
        if start.parameters.get("agent_id", grant.agent_id) != grant.agent_id:
            raise TokenRejected("agent_id does not match the stream token", code=4403)
        agent = await _agent(services, grant)
        await _serve(socket, services, state, start, grant, agent, http_base(url))
    except (ProtocolError, TokenRejected) as exc:
        log.warning("Media Stream closed: %s", exc)
        await close_socket(socket, exc.code, str(exc))
    except WebSocketDisconnect:
        return
    except Exception:  # e.g. the agent's runtime would not start: <Connect action> takes over
        log.exception("Media Stream could not start a call")
        await close_socket(socket, 1011, "internal error")


async def _deny(socket: WebSocket) -> None:
    try:
        denial = PlainTextResponse("invalid or missing X-Twilio-Signature", status_code=403)
        await socket.send_denial_response(denial)
    except RuntimeError:  # the server cannot send an HTTP response: a plain 403 close
        await socket.close(1008)


async def _wait_for_start(socket: WebSocket, services: Services) -> Start | None:
    """Skip `connected`; `media` or `dtmf` before `start` breaks the protocol."""
    try:
        async with asyncio.timeout(START_TIMEOUT):
            return await _first_start(socket, services)
    except TimeoutError:
        raise ProtocolError("no start message received", code=4408) from None


async def _first_start(socket: WebSocket, services: Services) -> Start | None:
    bad = 0
    while True:
        try:
            event = parse_event(await _receive(socket, services))
        except SoftError as exc:
            bad += 1
            if bad > MAX_BAD_IN_A_ROW:
                raise ProtocolError(f"too many malformed messages ({exc})") from None
            continue
        if isinstance(event, Start):
            return event
        if isinstance(event, Stop):
            return None
        if isinstance(event, InputAudioFrame | DTMFFrame):
            raise ProtocolError(f"{_kind(event)} before start")


def _kind(event: StreamEvent) -> str:
    return "media" if isinstance(event, InputAudioFrame) else "dtmf"


async def _agent(services: Services, grant: StreamGrant) -> Agent:
    try:
        agent = await services.store.tenant(grant.tenant_id).get_agent(grant.agent_id)
    except NotFound:
        raise ProtocolError("the stream token's agent no longer exists", code=4404) from None
    if agent.status != "active":
        raise ProtocolError(f"agent is {agent.status}", code=4409)
    return agent


async def _serve(
    socket: WebSocket,
    services: Services,
    state: TwilioState,
    start: Start,
    grant: StreamGrant,
    agent: Agent,
    base: str,
) -> None:
    connector = TwilioConnector(
        socket, stream_sid=start.stream_sid, call_sid=start.call_sid, rest=state.rest
    )
    call = await services.live.open(
        agent,
        channel="twilio",
        connector=connector,
        wire_in_rate=RATE,
        wire_out_rate=RATE,
        engine_rate=RATE,
        caller=grant.caller,
    )
    connector.session_id = call.id
    connector.whisper_url = f"{base}/twilio/whisper?tenant={agent.tenant_id}&session={call.id}"

    def heard_all() -> None:  # Twilio played everything sent: the agent is quiet now
        call.speaking_until = time.monotonic()

    connector.on_heard = heard_all
    call.record.metadata.update(
        {"twilio_call_sid": start.call_sid, "twilio_stream_sid": start.stream_sid}
    )
    state.track(start.call_sid, call)
    try:
        await _pump(socket, services, call, connector)
    finally:
        state.untrack(start.call_sid)


async def _pump(
    socket: WebSocket, services: Services, call: Call, connector: TwilioConnector
) -> None:
    """Twilio's messages into the call until the stream stops, the call ends or breaks."""
    bad = skipped = 0
    try:
        while call.live:
            try:
                event = parse_event(await _receive(socket, services))
            except SoftError as exc:
                bad += 1
                skipped += 1
                call.record.metadata["twilio_bad_messages"] = skipped
                if bad > MAX_BAD_IN_A_ROW:
                    raise ProtocolError(f"too many malformed messages ({exc})") from None
                if skipped <= LOGGED_BAD:
                    log.warning("call %s: skipped a bad Twilio message: %s", call.id, exc)
                continue
            bad = 0
            if type(event) is InputAudioFrame or type(event) is DTMFFrame:
                call.push(event)
            elif isinstance(event, Mark):
                if connector.mark_played(event.name) is not None:
                    call.record.metadata["utterances_heard"] = len(connector.heard)
                    call.record.metadata["utterances_cut"] = len(connector.cut)
            elif isinstance(event, Stop):
                call.detach()
                await connector.close(1000, "stream stopped")
                await call.end(_stop_reason(call, connector))
                return
    except ProtocolError as exc:
        log.warning("call %s: Media Stream protocol error: %s", call.id, exc)
        call.detach()  # ended (and stored) before the socket closes: <Connect action> reads it
        await call.end(f"protocol error: {exc}", status="failed")
        await connector.close(exc.code, str(exc))
    except WebSocketDisconnect:
        connector.abandon()
        if call.live and call.connector is connector:  # not ended by us: the stream dropped
            call.detach()
            await call.end("media stream dropped", status=None if call.handoff_reason else "failed")
    except Exception:
        log.exception("Twilio call %s failed", call.id)
        call.detach()
        await call.end("internal error", status="failed")
        await connector.close(1011, "internal error")


def _stop_reason(call: Call, connector: TwilioConnector) -> str:
    if connector.transferred:
        return "transferred to a person"
    return "stream stopped during handoff" if call.handoff_reason else "caller hung up"


async def _receive(socket: WebSocket, services: Services) -> str:
    message = await socket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1006))
    text = message.get("text")
    if text is None:
        raise SoftError("binary frames are not part of the Media Streams protocol")
    limit = services.settings.max_ws_message_bytes
    if len(text) > limit:
        raise ProtocolError(f"message larger than {limit} bytes", code=4413)
    return str(text)

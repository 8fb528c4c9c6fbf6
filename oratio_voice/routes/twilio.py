"""Twilio webhooks (all signed): the incoming-call webhook that routes a number to its agent,
call status callbacks, the <Connect action> after a stream ends, and the warm-transfer whisper.
The Media Streams WebSocket lives in twilio_media.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from twilio.twiml.voice_response import VoiceResponse

from connectors.base import TransferTarget
from connectors.twilio import TwilioConnector
from connectors.twilio_rest import operator_twiml, transfer_twiml
from oratio_voice.events import SESSION_HANDOFF, Event
from oratio_voice.handoff_rules import opening_reason
from oratio_voice.models import Agent, CallSession, Notification, now
from oratio_voice.notifications import post
from oratio_voice.routes import twilio_media
from oratio_voice.routes.twilio_auth import (
    CallRef,
    TwilioState,
    http_base,
    public_url,
    twilio_state,
)
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound

log = logging.getLogger(__name__)
router = APIRouter(tags=["twilio"])
router.include_router(twilio_media.router)

UNKNOWN_NUMBER = "Sorry, this number is not in service. Goodbye."
FAULT_LINE = "Sorry, something went wrong on our side. Let me connect you with a colleague."
LIVE_CALL_WAIT = 3.0  # seconds a just-dropped call may take to close its session
FINAL_STATUSES = frozenset({"completed", "failed", "busy", "no-answer", "canceled"})


class SignedForm:
    """The form of a request whose X-Twilio-Signature is valid."""

    def __init__(self, params: dict[str, str], url: str) -> None:
        self.params = params
        self.url = url

    def get(self, name: str) -> str:
        return self.params.get(name, "").strip()


async def signed_form(request: Request, state: TwilioState) -> SignedForm:
    if state.validator is None:
        raise HTTPException(503, "Twilio is not configured: set ORATIO_TWILIO_AUTH_TOKEN")
    form = await request.form()
    if any(not isinstance(value, str) for _, value in form.multi_items()):
        raise HTTPException(400, "Twilio webhooks carry form fields only")
    url = public_url(request.url, request.headers, request.app.state.oratio.settings)
    if not state.signature_ok(url, form, request.headers.get("x-twilio-signature")):
        log.warning("rejected a Twilio request with a bad signature for %s", url)
        raise HTTPException(403, "invalid or missing X-Twilio-Signature")
    return SignedForm({key: str(value) for key, value in form.items()}, url)


def twiml(response: VoiceResponse | str) -> Response:
    body = response if isinstance(response, str) else response.to_xml(xml_declaration=False)
    return Response(str(body), media_type="application/xml")


def _target(agent: Agent) -> TransferTarget:
    handoff = agent.config.handoff
    return TransferTarget(queue=handoff.queue, number=handoff.target, warm=handoff.warm)


def _services(request: Request) -> tuple[Services, TwilioState]:
    services: Services = request.app.state.oratio
    return services, twilio_state(services)


@router.post("/twilio/voice")
async def incoming_call(request: Request) -> Response:
    """A call to one of our numbers: stream it to the number's agent, or say why not."""
    services, state = _services(request)
    form = await signed_form(request, state)
    call_sid, number = form.get("CallSid"), form.get("To")
    if not call_sid:
        raise HTTPException(400, "CallSid is required")
    agent = await services.store.find_agent_by_number(number) if number else None
    if agent is None or agent.status == "archived":
        log.info("call %s to %r: no agent has this number", call_sid, number)
        response = VoiceResponse()
        response.say(UNKNOWN_NUMBER)
        response.hangup()
        return twiml(response)
    reason = f"agent {agent.status}" if agent.status != "active" else ""
    if reason := reason or opening_reason(agent, now()):  # paused, closed: straight to people
        log.info("call %s to agent %s goes to its queue: %s", call_sid, agent.id, reason)
        session = await _record_direct_handoff(services, agent, form, reason)
        state.remember(call_sid, CallRef(agent.tenant_id, session.id, agent.id))
        return twiml(
            transfer_twiml(
                _target(agent),
                summary=session.summary,
                reason=reason,
                session_id=session.id,
                whisper_url=_whisper_url(form.url, session),
                say=agent.config.handoff.hand_over_line,
            )
        )
    token = state.tokens.issue(
        call_sid=call_sid, agent_id=agent.id, tenant_id=agent.tenant_id, caller=form.get("From")
    )
    base = http_base(form.url)
    response = VoiceResponse()
    connect = response.connect(action=f"{base}/twilio/stream-ended")
    stream = connect.stream(url=base.replace("http", "ws", 1) + "/twilio/media")
    stream.parameter(name="agent_id", value=agent.id)
    stream.parameter(name="token", value=token)
    return twiml(response)


@router.post("/twilio/status")
async def call_status(request: Request) -> Response:
    """Twilio's call status callback: a finished call closes its session, stop or no stop."""
    services, state = _services(request)
    form = await signed_form(request, state)
    call_sid, status = form.get("CallSid"), form.get("CallStatus")
    if not call_sid or not status:
        raise HTTPException(400, "CallSid and CallStatus are required")
    if status not in FINAL_STATUSES:
        return Response(status_code=204)
    details = {"twilio_status": status, "twilio_duration": form.get("CallDuration")}
    call = state.live.get(call_sid)
    if call is not None and not call.live:  # closing right now: its record is still in memory
        call.record.metadata.update(details)
        await call.save()
        return Response(status_code=204)
    if call is not None:
        state.untrack(call_sid)
        call.record.metadata.update(details)
        connector = call.connector
        call.detach()
        reason = "caller hung up" if status == "completed" else f"Twilio call {status}"
        await call.end(reason, status=None if status == "completed" else "failed")
        if isinstance(connector, TwilioConnector):
            await connector.close(1000, f"call {status}")
        return Response(status_code=204)
    ref = state.recent.get(call_sid)
    if ref is not None:
        tenant = services.store.tenant(ref.tenant_id)
        try:
            session = await tenant.get_session(ref.session_id)
        except NotFound:
            return Response(status_code=204)
        session.metadata.update(details)
        if session.status == "active":
            session.status = "ended" if status == "completed" else "failed"
            session.ended_at = now()
            session.end_reason = f"Twilio call {status}"
        await tenant.put_session(session)
    return Response(status_code=204)


@router.post("/twilio/stream-ended")
async def stream_ended(request: Request) -> Response:
    """<Connect action>: the stream closed without a REST update. A call the AI finished hangs
    up; any other ending (AI fault, dropped stream) goes to a person, never to silence."""
    services, state = _services(request)
    form = await signed_form(request, state)
    call_sid = form.get("CallSid")
    session: CallSession | None = None
    agent: Agent | None = None
    if (call := state.live.get(call_sid)) is not None:  # the stream dropped a moment ago
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.ended.wait(), LIVE_CALL_WAIT)
        session, agent = call.record, call.agent
    elif (ref := state.recent.get(call_sid)) is not None:
        tenant = services.store.tenant(ref.tenant_id)
        with contextlib.suppress(NotFound):
            session = await tenant.get_session(ref.session_id)
            agent = await tenant.get_agent(ref.agent_id)
    if agent is None and (number := form.get("To")):
        agent = await services.store.find_agent_by_number(number)
    response = VoiceResponse()
    over = session is not None and (
        session.status == "ended" or session.metadata.get("twilio_status") in FINAL_STATUSES
    )
    if agent is None or over:
        response.hangup()
        return twiml(response)
    if session is not None:
        await _record_fault_handoff(services, session, agent)
    summary = session.summary if session is not None else ""
    return twiml(
        transfer_twiml(
            _target(agent),
            summary=summary,
            reason=session.handoff_reason if session else "stream ended",
            session_id=session.id if session else "",
            whisper_url=_whisper_url(form.url, session),
            say=FAULT_LINE,
        )
    )


async def _record_direct_handoff(
    services: Services, agent: Agent, form: SignedForm, reason: str
) -> CallSession:
    """A call the AI never takes still leaves a session and tells the people who pick it up."""
    moment = now()
    session = CallSession(
        tenant_id=agent.tenant_id,
        agent_id=agent.id,
        channel="twilio",
        status="handoff",
        caller=form.get("From"),
        ended_at=moment,
        end_reason="transferred to a person",
        handoff_reason=reason,
        summary=f"Handoff reason: {reason}. The caller went straight to the queue.",
        metadata={"twilio_call_sid": form.get("CallSid")},
    )
    await services.store.tenant(agent.tenant_id).put_session(session)
    await _notify_handoff(services, session, agent)
    return session


async def _record_fault_handoff(services: Services, session: CallSession, agent: Agent) -> None:
    """The stream broke: the caller goes to a person; the session and the people say so."""
    if session.status == "handoff":
        return
    tenant = services.store.tenant(session.tenant_id)
    reason = f"AI fault: {session.end_reason or 'media stream ended'}"
    session.status = "handoff"
    session.handoff_reason = reason
    session.summary = session.summary or f"Handoff reason: {reason}."
    await tenant.put_session(session)
    await _notify_handoff(services, session, agent)


async def _notify_handoff(services: Services, session: CallSession, agent: Agent) -> None:
    note = Notification(
        tenant_id=session.tenant_id,
        kind="handoff",
        title=f"{agent.name}: call handed to {agent.config.handoff.queue}",
        body=session.summary,
        session_id=session.id,
        agent_id=agent.id,
    )
    data: dict[str, Any] = {"session_id": session.id, "reason": session.handoff_reason}
    await services.events.publish(Event(SESSION_HANDOFF, session.tenant_id, data))
    await post(services.store.tenant(session.tenant_id), services.events, note)


def _whisper_url(url: str, session: CallSession | None) -> str:
    if session is None:
        return ""
    return f"{http_base(url)}/twilio/whisper?tenant={session.tenant_id}&session={session.id}"


@router.post("/twilio/whisper")
async def whisper(request: Request, tenant: str = "", session: str = "") -> Response:
    """Played to the person taking the call before the caller is bridged: the AI's summary.
    Our <Number url> names the session; an operator's <Queue url> gives the caller's CallSid."""
    services, state = _services(request)
    form = await signed_form(request, state)
    if not (tenant and session) and (ref := state.recent.get(form.get("CallSid"))):
        tenant, session = ref.tenant_id, ref.session_id
    summary = "A caller handed over by the AI assistant."
    if tenant and session:
        try:
            record = await services.store.tenant(tenant).get_session(session)
            summary = record.summary or summary
        except NotFound:
            log.info("whisper for unknown session %s", session)
    response = VoiceResponse()
    response.say(summary)
    return twiml(response)


@router.post("/twilio/operator")
async def operator(request: Request, queue: str = "support") -> Response:
    """TwiML for a human's phone number: take the next caller from `queue`, whisper first."""
    _, state = _services(request)
    form = await signed_form(request, state)
    return twiml(operator_twiml(queue, f"{http_base(form.url)}/twilio/whisper"))

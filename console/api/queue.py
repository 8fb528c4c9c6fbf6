"""/api/queue: the human queue for website callers. A widget call the AI handed off waits here
with the AI's summary; an operator picks it up (the widget shows who), and carries on the
conversation in text: operator lines go to the widget as `operator` transcripts, the caller's
typed lines come back as caller turns (`session.turn` events on /api/live)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from fastapi import APIRouter, HTTPException

from console.deps import CurrentUser, Principal, Responses, ServicesDep, not_found
from console.schemas import OperatorMessage, QueueEntry, TurnOut
from oratio_voice.calls import Call
from oratio_voice.events import Event
from oratio_voice.services import Services

router = APIRouter(prefix="/api/queue", tags=["human queue"])

SESSION_OPERATOR = "session.operator"
TRANSCRIPT_TAIL = 20
NOT_FOUND: Responses = {404: {"description": "no such live session in your organization"}}
CONFLICT: Responses = {409: {"description": "the call is not waiting, or another operator has it"}}


@runtime_checkable
class OperatorLine(Protocol):
    """A connector that can show the caller the person who took over (the browser widget)."""

    def send_operator(self, name: str) -> None: ...
    def send_operator_text(self, text: str) -> None: ...


def _waiting(call: Call) -> bool:
    return call.live and call.record.channel == "browser" and call.handed_over


def _entry(call: Call) -> QueueEntry:
    record = call.record
    return QueueEntry(
        session_id=record.id,
        agent_id=record.agent_id,
        agent_name=call.agent.name,
        caller=record.caller,
        started_at=record.started_at,
        handoff_reason=record.handoff_reason or call.handoff_reason,
        summary=record.summary,
        operator=call.operator,
        transcript=[TurnOut.model_validate(t) for t in call.turns[-TRANSCRIPT_TAIL:]],
    )


def _queued_call(services: Services, principal: Principal, session_id: str) -> Call:
    """The tenant's handed-off browser call live in this process; 404 otherwise."""
    call = services.live.get(session_id)
    if call is None or call.record.tenant_id != principal.tenant_id or not _waiting(call):
        not_found("queued call", session_id)
    return call


def _operator_name(principal: Principal) -> str:
    return principal.user.email


@router.get("", response_model=list[QueueEntry])
async def queue(principal: CurrentUser, services: ServicesDep) -> list[QueueEntry]:
    """Handed-off website calls still connected, longest waiting first; `operator` says
    who has picked each up (empty: waiting for someone)."""
    calls = [c for c in services.live.of_tenant(principal.tenant_id) if _waiting(c)]
    calls.sort(key=lambda c: c.record.started_at)
    return [_entry(c) for c in calls]


@router.post("/{session_id}/pickup", response_model=QueueEntry, responses={**NOT_FOUND, **CONFLICT})
async def pickup(session_id: str, principal: CurrentUser, services: ServicesDep) -> QueueEntry:
    """Take the call: the caller's widget is told who they are now talking to."""
    call = _queued_call(services, principal, session_id)
    name = _operator_name(principal)
    if call.operator and call.operator != name:
        raise HTTPException(409, f"{call.operator} has already picked up this call")
    if not call.operator:
        call.operator = name
        if isinstance(call.connector, OperatorLine):
            call.connector.send_operator(name)
        call.record_turn("system", f"{name} joined the conversation")
        await services.events.publish(
            Event(
                SESSION_OPERATOR,
                principal.tenant_id,
                {"session_id": call.id, "operator": name},
            )
        )
        await principal.audit("queue.pickup", call.id)
    return _entry(call)


@router.post(
    "/{session_id}/messages",
    response_model=TurnOut,
    status_code=201,
    responses={**NOT_FOUND, **CONFLICT},
)
async def send_message(
    session_id: str, body: OperatorMessage, principal: CurrentUser, services: ServicesDep
) -> TurnOut:
    """Say something to the caller (shown in their widget as the operator's line)."""
    call = _queued_call(services, principal, session_id)
    name = _operator_name(principal)
    if call.operator != name:
        who = call.operator or "nobody"
        raise HTTPException(409, f"pick up the call first ({who} has it)")
    if isinstance(call.connector, OperatorLine):
        call.connector.send_operator_text(body.text)
    call.record_turn("operator", body.text)
    return TurnOut.model_validate(call.turns[-1])


@router.post("/{session_id}/end", response_model=QueueEntry, responses={**NOT_FOUND, **CONFLICT})
async def end_call(session_id: str, principal: CurrentUser, services: ServicesDep) -> QueueEntry:
    """The operator ends the conversation; the caller's widget shows that the call is over."""
    call = _queued_call(services, principal, session_id)
    if call.operator and call.operator != _operator_name(principal):
        raise HTTPException(409, f"{call.operator} has this call")
    entry = _entry(call)
    await call.end("operator ended the call")
    await principal.audit("queue.end", call.id)
    return entry

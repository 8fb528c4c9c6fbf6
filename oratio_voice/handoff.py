"""Handoff orchestration: let the hand-over line finish, summarise, transfer through the
call's connector, mark the session, and tell the people who must pick it up."""

from __future__ import annotations

import asyncio
import logging
import time

from connectors.base import TransferError, TransferTarget
from oratio_voice.calls import Call
from oratio_voice.events import NOTIFICATION, SESSION_HANDOFF, Event
from oratio_voice.models import Notification, Turn
from oratio_voice.notifications import post
from oratio_voice.notify_email import HandoffMailer

log = logging.getLogger(__name__)

MAX_PLAYOUT_WAIT = 8.0  # seconds the hand-over line may still play before we transfer
LINE_START_WAIT = 0.3  # seconds for the hand-over line's first audio to reach the call


def summarize(turns: list[Turn], reason: str) -> str:
    """A short, factual summary for the person who takes the call."""
    said = [t.text for t in turns if t.role == "caller"]
    parts = [f"Handoff reason: {reason}."]
    if said:
        parts.append(f'Caller first said: "{said[0]}".')
    if len(said) > 1:
        parts.append(f'Last: "{said[-1]}".')
    parts.append(f"{len(said)} caller turn(s).")
    return " ".join(parts)


async def hand_off(
    call: Call, reason: str, source: str, *, mailer: HandoffMailer | None = None
) -> None:
    """Transfer `call` to a person. AI faults go at once; otherwise the agent's last line
    is allowed to finish playing first. With a mailer, the team is e-mailed too."""
    if source != "fault":
        # The request can arrive before the engine has produced the hand-over line's audio,
        # and audio still arriving pushes `speaking_until` further: re-check until it passes.
        await asyncio.sleep(LINE_START_WAIT)
        deadline = time.monotonic() + MAX_PLAYOUT_WAIT
        while (wait := min(call.speaking_until, deadline) - time.monotonic()) > 0:
            await asyncio.sleep(wait)
    config = call.agent.config.handoff
    summary = summarize(call.turns, reason)
    record = call.record
    record.status = "handoff"
    record.handoff_reason = reason
    record.summary = summary
    notification = Notification(
        tenant_id=record.tenant_id,
        kind="handoff",
        title=f"{call.agent.name}: call handed to {config.queue}",
        body=summary,
        session_id=record.id,
        agent_id=record.agent_id,
    )
    connector = call.connector
    try:
        if connector is None:
            raise TransferError("the caller is not connected")
        await connector.transfer(
            TransferTarget(queue=config.queue, number=config.target, warm=config.warm),
            reason,
            summary,
        )
    except TransferError as exc:
        log.warning("handoff of %s failed: %s", record.id, exc)
        notification.kind = "handoff_failed"
        notification.title = f"{call.agent.name}: transfer FAILED, call the customer back"
        notification.body = f"{summary} Transfer error: {exc}"
        # Nobody took the call: the AI keeps it, and a later request (press 0 again) may retry.
        call.handoff_reason = ""
        if record.status == "handoff":
            record.status = "active" if call.live else "ended"
    else:
        await call.stop_ai()
    await call.save()
    await call.store.put_notification(notification)
    await call.events.publish(
        Event(
            SESSION_HANDOFF,
            record.tenant_id,
            {"session_id": record.id, "reason": reason, "summary": summary, "source": source},
        )
    )
    await call.events.publish(
        Event(NOTIFICATION, record.tenant_id, notification.model_dump(mode="json"))
    )
    if mailer is not None:
        mailer.submit(notification, record, lambda error: _mail_failed(call, notification, error))


async def _mail_failed(call: Call, about: Notification, error: str) -> None:
    """A handoff e-mail that did not go out is itself a notification in the console."""
    notification = Notification(
        tenant_id=about.tenant_id,
        kind="system",
        title=f"Handoff e-mail not sent: {about.title}",
        body=f"The e-mail about this handoff could not be sent: {error}",
        session_id=about.session_id,
        agent_id=about.agent_id,
    )
    await post(call.store, call.events, notification)

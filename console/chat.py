"""Text chat with an agent: one exchange (caller message -> agent answer) in a stored session of
channel `chat`, with the same handoff rules as a call (paused agent, business hours, the
agent's own handoff decision, an AI fault)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from oratio_voice.agents.base import AgentError
from oratio_voice.events import (
    NOTIFICATION,
    SESSION_ENDED,
    SESSION_HANDOFF,
    SESSION_STARTED,
    SESSION_TURN,
    Event,
)
from oratio_voice.handoff import summarize
from oratio_voice.handoff_rules import opening_reason
from oratio_voice.models import Agent, CallSession, Notification, Turn, now
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound, TenantStore

WAITING_LINE = "A member of our team has your conversation and will reply as soon as possible."


class UnknownChat(Exception):
    """No chat session with this id for this agent."""


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    session_id: str
    answer: str
    sources: list[str]
    handoff_reason: str


class ChatExchange:
    """One message of one chat session; the caller holds a per-session lock around it."""

    def __init__(self, services: Services, agent: Agent) -> None:
        self.services = services
        self.agent = agent
        self.tenant: TenantStore = services.store.tenant(agent.tenant_id)

    async def session(self, session_id: str | None, caller: str) -> tuple[CallSession, int]:
        """The continued session and its next turn number, or a new session."""
        if not session_id:
            session = CallSession(
                tenant_id=self.agent.tenant_id,
                agent_id=self.agent.id,
                channel="chat",
                caller=caller[:200],
            )
            await self.tenant.put_session(session)
            await self._publish(SESSION_STARTED, self._summary(session))
            return session, 0
        try:
            session = await self.tenant.get_session(session_id)
            turns = await self.tenant.list_turns(session_id)
        except NotFound:
            raise UnknownChat(session_id) from None
        if session.channel != "chat" or session.agent_id != self.agent.id:
            raise UnknownChat(session_id)
        return session, len(turns)

    async def answer(self, session: CallSession, seq: int, message: str) -> ChatAnswer:
        caller_turn = await self._turn(session, seq, "caller", message)
        handed_off = session.status == "handoff"
        reason = "" if handed_off else opening_reason(self.agent, now())
        sources: list[str] = []
        if handed_off:
            text = WAITING_LINE
        elif reason:
            text = self.agent.config.handoff.hand_over_line
        else:
            try:
                client = await self.services.agents.client_for(self.agent)
                reply = await client.invoke(session.id, message)
                text, sources, reason = reply.text, reply.sources, reply.handoff
            except AgentError as exc:
                text = self.agent.config.handoff.hand_over_line
                reason = f"AI fault: agent runtime failed ({exc})"
        await self._turn(session, seq + 1, "agent", text, sources)
        if reason:
            turns = await self.tenant.list_turns(session.id)
            await self._hand_off(session, reason, turns or [caller_turn])
        session.ended_at = now()
        session.end_reason = session.end_reason or "chat"
        if session.status == "active":
            session.status = "ended"
        await self.tenant.put_session(session)
        await self._publish(SESSION_ENDED, self._summary(session))
        waiting = session.handoff_reason if session.status == "handoff" else ""
        return ChatAnswer(session.id, text, sources, waiting)

    async def _turn(
        self,
        session: CallSession,
        seq: int,
        role: Literal["caller", "agent"],
        text: str,
        sources: list[str] | None = None,
    ) -> Turn:
        turn = Turn(
            tenant_id=session.tenant_id,
            session_id=session.id,
            seq=seq,
            role=role,
            text=text,
            sources=sources or [],
        )
        await self.tenant.add_turn(turn)
        await self._publish(
            SESSION_TURN,
            {
                "session_id": session.id,
                "role": role,
                "text": text,
                "seq": seq,
                "at": turn.at.isoformat(),
            },
        )
        return turn

    async def _hand_off(self, session: CallSession, reason: str, turns: list[Turn]) -> None:
        session.status = "handoff"
        session.handoff_reason = reason
        session.summary = summarize(turns, reason)
        queue = self.agent.config.handoff.queue
        note = Notification(
            tenant_id=session.tenant_id,
            kind="handoff",
            title=f"{self.agent.name}: chat handed to {queue}",
            body=session.summary,
            session_id=session.id,
            agent_id=self.agent.id,
        )
        await self.tenant.put_session(session)
        await self.tenant.put_notification(note)
        await self._publish(
            SESSION_HANDOFF,
            {"session_id": session.id, "reason": reason, "summary": session.summary},
        )
        await self._publish(NOTIFICATION, note.model_dump(mode="json"))

    async def _publish(self, kind: str, data: dict[str, Any]) -> None:
        await self.services.events.publish(Event(kind, self.agent.tenant_id, data))

    @staticmethod
    def _summary(session: CallSession) -> dict[str, Any]:
        return {
            "session_id": session.id,
            "agent_id": session.agent_id,
            "channel": session.channel,
            "status": session.status,
            "caller": session.caller,
            "started_at": session.started_at.isoformat(),
            "handoff_reason": session.handoff_reason,
        }

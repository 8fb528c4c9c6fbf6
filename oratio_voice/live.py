"""The calls this process owns while they last, and the browser reconnect grace period."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from pathlib import Path

from connectors.base import CallConnector
from oratio_voice.agents.directory import AgentDirectory
from oratio_voice.calls import Call
from oratio_voice.events import EventBus
from oratio_voice.handoff import hand_off
from oratio_voice.models import Agent, CallSession, Channel
from oratio_voice.notify_email import HandoffMailer
from oratio_voice.store.base import BlobStore, Store
from pipeline.engines.base import SpeechEngine

log = logging.getLogger(__name__)


class LiveCalls:
    """Opens calls, finds them again by resume token, ends them when abandoned."""

    def __init__(
        self,
        *,
        store: Store,
        events: EventBus,
        engine: SpeechEngine,
        agents: AgentDirectory,
        grace_seconds: float,
        blobs: BlobStore | None = None,
        recording_dir: Path | None = None,
        mailer: HandoffMailer | None = None,
        agent_timeout: float = 10.0,
        max_tool_failures: int = 3,
    ) -> None:
        self.blobs = blobs
        self.mailer = mailer
        self.agent_timeout = agent_timeout
        self.max_tool_failures = max_tool_failures
        self.recording_dir = recording_dir
        self.store = store
        self.events = events
        self.engine = engine
        self.agents = agents
        self.grace_seconds = grace_seconds
        self._calls: dict[str, Call] = {}
        self._by_token: dict[str, Call] = {}
        self._grace: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    async def open(
        self,
        agent: Agent,
        *,
        channel: Channel,
        connector: CallConnector,
        wire_in_rate: int,
        wire_out_rate: int,
        engine_rate: int = 16000,
        caller: str = "",
    ) -> Call:
        call = Call(
            record=CallSession(
                tenant_id=agent.tenant_id, agent_id=agent.id, channel=channel, caller=caller
            ),
            agent=agent,
            store=self.store.tenant(agent.tenant_id),
            events=self.events,
            agent_client=await self.agents.client_for(agent),
            engine=self.engine,
            handoff=functools.partial(hand_off, mailer=self.mailer),
            wire_in_rate=wire_in_rate,
            wire_out_rate=wire_out_rate,
            engine_rate=engine_rate,
            blobs=self.blobs,
            recording_dir=self.recording_dir,
            agent_timeout=self.agent_timeout,
            max_tool_failures=self.max_tool_failures,
        )
        self._calls[call.id] = call
        self._by_token[call.resume_token] = call
        call.ended_callback = self._forget
        await call.start(connector)
        return call

    def get(self, session_id: str) -> Call | None:
        return self._calls.get(session_id)

    def of_tenant(self, tenant_id: str) -> list[Call]:
        """The tenant's calls live in this process (the console's human queue)."""
        return [c for c in self._calls.values() if c.record.tenant_id == tenant_id]

    def resume(self, token: str, agent_id: str) -> Call | None:
        """The call a reconnecting caller left, if it is still within its grace period."""
        call = self._by_token.get(token)
        if call is None or not call.live or call.agent.id != agent_id:
            return None
        grace = self._grace.pop(call.id, None)
        if grace is not None:
            grace.cancel()
        return call

    def hold(self, call: Call) -> None:
        """The caller's socket dropped: keep the call for the grace period, then end it."""
        call.detach()
        if call.live and call.id not in self._grace:
            self._grace[call.id] = asyncio.ensure_future(self._expire(call))

    async def _expire(self, call: Call) -> None:
        await asyncio.sleep(self.grace_seconds)
        self._grace.pop(call.id, None)
        if call.connector is None:
            await call.end("caller disconnected")

    def _forget(self, call: Call) -> None:
        self._calls.pop(call.id, None)
        self._by_token.pop(call.resume_token, None)
        grace = self._grace.pop(call.id, None)
        if grace is not None:
            grace.cancel()

    async def close(self) -> None:
        """Server shutdown: every call ends cleanly and is recorded."""
        calls = list(self._calls.values())
        for call in calls:
            with contextlib.suppress(Exception):
                await call.end("server shutting down")

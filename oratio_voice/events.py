"""Live updates (session started, turn, handoff, notification) for the console's WebSocket.

Events are published per tenant and fanned out to that tenant's subscribers only. Each
subscriber has a bounded buffer: a subscriber that falls behind loses its oldest events (and
counts them) instead of slowing publishers or other subscribers. The in-process bus serves one
server instance; a broker-backed bus (Redis pub/sub) implements the same `EventBus` seam.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from oratio_voice.models import now

log = logging.getLogger(__name__)

# Event types published by the product.
SESSION_STARTED = "session.started"
SESSION_TURN = "session.turn"
SESSION_HANDOFF = "session.handoff"
SESSION_ENDED = "session.ended"
NOTIFICATION = "notification"
AGENT_UPDATED = "agent.updated"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to one tenant. `data` is shared by all subscribers: read only."""

    type: str
    tenant_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=now)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form sent over the console's WebSocket."""
        return {
            "type": self.type,
            "tenant_id": self.tenant_id,
            "data": self.data,
            "at": self.at.isoformat(),
        }


class Subscription:
    """One subscriber's bounded buffer of events, read with `async for`.

    Iteration ends once the subscription is ended (context exit or bus close) and drained.
    """

    def __init__(self, tenant_id: str, max_pending: int = 1000) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.tenant_id = tenant_id
        self.max_pending = max_pending
        self.dropped = 0
        self._events: deque[Event] = deque()
        self._ready = asyncio.Event()
        self._ended = False

    @property
    def pending(self) -> int:
        return len(self._events)

    @property
    def ended(self) -> bool:
        return self._ended

    def deliver(self, event: Event) -> None:
        """Queue an event without ever blocking; when full, the oldest event is dropped."""
        if self._ended:
            return
        if len(self._events) >= self.max_pending:
            self._events.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "event subscriber of tenant %s is falling behind; dropping its oldest events",
                    self.tenant_id,
                )
        self._events.append(event)
        self._ready.set()

    def end(self) -> None:
        """Stop accepting events; the reader gets what is buffered, then the iteration ends."""
        self._ended = True
        self._ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while not self._events:
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()


class EventBus(Protocol):
    async def publish(self, event: Event) -> None:
        """Hand the event to the tenant's subscribers; never waits for a slow one."""
        ...

    def subscribe(self, tenant_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Receive the events of `tenant_id` (and no other) until the context exits."""
        ...

    async def close(self) -> None:
        """End every subscription."""
        ...


class InProcessEventBus:
    """EventBus for one process; publish and subscribe must be used from its event loop."""

    def __init__(self, max_pending: int = 1000) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.max_pending = max_pending
        self._subscribers: dict[str, set[Subscription]] = {}
        self._closed = False
        self._dropped_by_gone = 0

    async def publish(self, event: Event) -> None:
        if not event.tenant_id:
            raise ValueError("an event must name its tenant")
        for subscription in self._subscribers.get(event.tenant_id, ()):
            subscription.deliver(event)

    @asynccontextmanager
    async def subscribe(self, tenant_id: str) -> AsyncIterator[Subscription]:
        if not tenant_id:
            raise ValueError("tenant_id must not be empty")
        subscription = Subscription(tenant_id, self.max_pending)
        if self._closed:
            subscription.end()
        else:
            self._subscribers.setdefault(tenant_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            self._remove(subscription)

    async def close(self) -> None:
        self._closed = True
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.end()

    def subscriber_count(self, tenant_id: str | None = None) -> int:
        if tenant_id is not None:
            return len(self._subscribers.get(tenant_id, ()))
        return sum(len(s) for s in self._subscribers.values())

    @property
    def dropped(self) -> int:
        """Events dropped for slow subscribers, current and past."""
        live = sum(s.dropped for subs in self._subscribers.values() for s in subs)
        return self._dropped_by_gone + live

    def _remove(self, subscription: Subscription) -> None:
        subscription.end()
        subscriptions = self._subscribers.get(subscription.tenant_id)
        if subscriptions is None or subscription not in subscriptions:
            return
        subscriptions.discard(subscription)
        self._dropped_by_gone += subscription.dropped
        if not subscriptions:
            del self._subscribers[subscription.tenant_id]

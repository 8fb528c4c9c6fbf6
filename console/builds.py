"""Agent builds started from the console: run in the background through the product's agent
builder, their stage-by-stage progress kept for the page that follows it (Server-Sent Events)
and persisted next to the agent's documents, so a reload or another instance can still read it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from oratio_voice.events import AGENT_UPDATED, Event
from oratio_voice.models import Agent, Notification, now
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound

if TYPE_CHECKING:  # the creator (LangGraph, DSPy) is imported when a build starts
    from oratio_voice.agents.creator import BuildProgress

log = logging.getLogger(__name__)

BuildState = Literal["running", "done", "failed", "interrupted", "none"]
STALE_AFTER = timedelta(minutes=10)  # a 'building' agent nobody has reported on for this long
POLL_SECONDS = 2.0  # how often the persisted log of a build run elsewhere is re-read


def log_key(tenant_id: str, agent_id: str) -> str:
    return f"{tenant_id}/agents/{agent_id}/build-log.json"


@dataclass(frozen=True, slots=True)
class BuildEvent:
    stage: str
    status: str
    detail: str = ""
    at: datetime = field(default_factory=now)

    def to_dict(self) -> dict[str, str]:
        return {
            "stage": self.stage,
            "status": self.status,
            "detail": self.detail,
            "at": self.at.isoformat(),
        }


@dataclass
class BuildLog:
    """One build's events so far and how it ended; followers wait on `changed`."""

    tenant_id: str
    agent_id: str
    state: BuildState = "running"
    error: str = ""
    events: list[BuildEvent] = field(default_factory=list)
    updated_at: datetime = field(default_factory=now)
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.state != "running"

    def add(self, event: BuildEvent) -> None:
        self.events.append(event)
        self._touch()

    def finish(self, state: BuildState, error: str = "") -> None:
        self.state, self.error = state, error
        self._touch()

    def _touch(self) -> None:
        self.updated_at = now()
        self.changed.set()

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "state": self.state,
            "error": self.error,
            "updated_at": self.updated_at.isoformat(),
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, tenant_id: str, data: dict[str, Any]) -> BuildLog:
        return cls(
            tenant_id=tenant_id,
            agent_id=str(data["agent_id"]),
            state=data["state"],
            error=str(data.get("error", "")),
            events=[
                BuildEvent(e["stage"], e["status"], e["detail"], datetime.fromisoformat(e["at"]))
                for e in data.get("events", [])
            ],
            updated_at=datetime.fromisoformat(data["updated_at"]),
        )


class BuildTracker:
    """The builds this process runs, and the logs of builds it ran or another instance ran."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._logs: dict[tuple[str, str], BuildLog] = {}
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}

    def start(self, agent: Agent, files: list[tuple[str, bytes]]) -> BuildLog:
        """Build `agent` (stored with status 'building') from `files` in the background."""
        build = BuildLog(agent.tenant_id, agent.id)
        self._logs[(agent.tenant_id, agent.id)] = build
        task = asyncio.ensure_future(self._run(build, agent, files))
        key = (agent.tenant_id, agent.id)
        self._running[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))
        return build

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._running.get(key) is task:
            del self._running[key]

    async def log_of(self, agent: Agent) -> BuildLog | None:
        """The agent's latest build log; a build orphaned by a restart is marked failed."""
        build = self._logs.get((agent.tenant_id, agent.id))
        if build is not None:
            return build
        try:
            raw = await self.services.blobs.get(log_key(agent.tenant_id, agent.id))
            build = BuildLog.from_dict(agent.tenant_id, json.loads(raw))
        except (NotFound, ValueError, KeyError, TypeError):
            build = None
        if agent.status == "building":
            last = build.updated_at if build is not None else agent.updated_at
            if now() - last > STALE_AFTER:
                build = build or BuildLog(agent.tenant_id, agent.id)
                build.finish("interrupted", "the build stopped (the server restarted)")
                await self._save(build)
                await self._mark_failed(agent.tenant_id, agent.id)
        return build

    async def cancel(self, tenant_id: str, agent_id: str) -> None:
        """Stop the agent's build if this process runs one, and wait until it has stopped."""
        task = self._running.get((tenant_id, agent_id))
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def follow(self, build: BuildLog, idle: float) -> AsyncIterator[BuildEvent | None]:
        """Every event of the build, past ones first, until it finishes; None after `idle`
        seconds without news (a keep-alive for the stream). A build this process does not
        run (another instance's, or one cut short by a restart) is followed through its
        persisted log."""
        local = self._logs.get((build.tenant_id, build.agent_id)) is build
        sent = 0
        quiet = 0.0
        while True:
            build.changed.clear()
            while sent < len(build.events):
                yield build.events[sent]
                sent += 1
                quiet = 0.0
            if build.finished:
                return
            wait = idle - quiet if local else min(POLL_SECONDS, idle - quiet)
            try:
                await asyncio.wait_for(build.changed.wait(), wait)
            except TimeoutError:
                quiet += wait
            if quiet >= idle:
                quiet = 0.0
                yield None
            if not local:
                build = await self._reload(build)

    async def _reload(self, build: BuildLog) -> BuildLog:
        try:
            agent = await self.services.store.tenant(build.tenant_id).get_agent(build.agent_id)
        except NotFound:
            build.finish("interrupted", "the agent is gone")
            return build
        return await self.log_of(agent) or build

    async def close(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, build: BuildLog, agent: Agent, files: list[tuple[str, bytes]]) -> None:
        from oratio_voice.agents.creator import BuildError

        async def progress(event: BuildProgress) -> None:
            build.add(BuildEvent(event.stage, event.status, event.detail))
            await self._save(build)

        try:
            await self.services.builder.build(
                agent.tenant_id,
                agent.name,
                files,
                agent_id=agent.id,
                config=agent.config,
                progress=progress,
            )
        except BuildError as exc:
            build.finish("failed", f"{exc.stage}: {exc.reason}")
        except asyncio.CancelledError:
            build.finish("interrupted", "the server shut down during the build")
            await self._mark_failed(agent.tenant_id, agent.id)
            raise
        except Exception as exc:
            log.exception("build of agent %s failed", agent.id)
            build.finish("failed", f"internal error: {type(exc).__name__}")
            await self._mark_failed(agent.tenant_id, agent.id, notify=True)
        else:
            build.finish("done")
        finally:
            with contextlib.suppress(Exception):
                await self._save(build)
                status = (
                    await self.services.store.tenant(agent.tenant_id).get_agent(agent.id)
                ).status
                await self.services.events.publish(
                    Event(AGENT_UPDATED, agent.tenant_id, {"agent_id": agent.id, "status": status})
                )

    async def _save(self, build: BuildLog) -> None:
        data = json.dumps(build.to_dict()).encode()
        await self.services.blobs.put(log_key(build.tenant_id, build.agent_id), data)

    async def _mark_failed(self, tenant_id: str, agent_id: str, notify: bool = False) -> None:
        tenant = self.services.store.tenant(tenant_id)
        with contextlib.suppress(NotFound):
            agent = await tenant.get_agent(agent_id)
            if agent.status == "building":
                agent.status = "failed"
                agent.updated_at = now()
                await tenant.put_agent(agent)
                if notify:
                    await tenant.put_notification(
                        Notification(
                            tenant_id=tenant_id,
                            kind="build",
                            title=f"Build of {agent.name} failed",
                            body="internal error; see the server log",
                            agent_id=agent_id,
                        )
                    )

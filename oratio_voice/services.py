"""The product's services for one server process, wired from settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from oratio_voice.agents.deploy import AgentCoreDeployer
from oratio_voice.agents.directory import AgentDirectory
from oratio_voice.builds import AgentBuilder
from oratio_voice.config import Settings
from oratio_voice.events import EventBus, InProcessEventBus
from oratio_voice.keys import KeyChecker
from oratio_voice.live import LiveCalls
from oratio_voice.models import now
from oratio_voice.notify_email import HandoffMailer, MailConfigError
from oratio_voice.store.base import BlobStore, Store
from oratio_voice.store.blobs import LocalBlobStore
from oratio_voice.store.sqlite import SQLiteStore
from pipeline.engines.base import SpeechEngine

log = logging.getLogger(__name__)


def default_engine(settings: Settings) -> SpeechEngine:
    """The speech engine the settings name; its SDK is imported only when chosen."""
    if settings.engine == "nova":
        from pipeline.engines.nova_sonic import NovaSonicEngine

        return NovaSonicEngine(
            region=settings.nova_region,
            model_id=settings.nova_model_id,
            endpoint_uri=settings.nova_endpoint_url or None,
            profile=settings.nova_profile or None,
            trust_instance_role=settings.nova_trust_instance_role,
        )
    from pipeline.engines.local import LocalSpeechEngine

    return LocalSpeechEngine()


def deployer(settings: Settings) -> AgentCoreDeployer | None:
    """Builds deploy to AgentCore when a role, a bucket and a region are configured."""
    if not (settings.agentcore_role_arn and settings.agentcore_bucket and settings.aws_region):
        return None
    return AgentCoreDeployer(
        region=settings.aws_region,
        role_arn=settings.agentcore_role_arn,
        bucket=settings.agentcore_bucket,
        model_id=settings.agentcore_model_id,
    )


@dataclass
class Services:
    """Store, blobs, events, engine, agents and live calls: the composition root's output."""

    settings: Settings
    store: Store
    blobs: BlobStore
    events: EventBus
    engine: SpeechEngine
    agents: AgentDirectory
    builder: AgentBuilder
    keys: KeyChecker
    live: LiveCalls
    extra: dict[str, Any] = field(default_factory=dict)
    mailer: HandoffMailer | None = None
    mail_problem: str = ""  # handoff e-mail asked for but misconfigured (readiness says so)

    @classmethod
    def from_settings(cls, settings: Settings, engine: SpeechEngine | None = None) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = SQLiteStore(settings.db_path)
        blobs = LocalBlobStore(settings.blob_dir)
        events = InProcessEventBus()
        engine = engine or default_engine(settings)
        agents = AgentDirectory(
            blobs,
            settings.agent_runtime,
            settings.data_dir / "agent-runtime",
            region=settings.aws_region,
            endpoint_url=settings.agentcore_endpoint_url,
            timeout=settings.agent_timeout_seconds,
        )
        mailer, mail_problem = None, ""
        try:
            mailer = HandoffMailer.from_settings(settings)
        except MailConfigError as exc:
            mail_problem = str(exc)
        live = LiveCalls(
            store=store,
            events=events,
            engine=engine,
            agents=agents,
            grace_seconds=settings.resume_grace_seconds,
            blobs=blobs,
            recording_dir=settings.data_dir / "recordings-in-progress",
            mailer=mailer,
            agent_timeout=settings.agent_timeout_seconds,
            max_tool_failures=settings.max_tool_failures,
        )
        builder = AgentBuilder(store, blobs, events, deployer(settings))
        keys = KeyChecker(store)
        services = cls(settings, store, blobs, events, engine, agents, builder, keys, live)
        services.mailer, services.mail_problem = mailer, mail_problem
        return services

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Services]:
        await self.store.open()
        await self._close_orphaned_sessions()
        try:
            await self.engine.check()
        except Exception as exc:  # readiness reports it too; calls then go to a person
            log.error("speech engine %s cannot serve calls: %s", self.engine.name, exc)
        try:
            await self.agents.check()
        except Exception as exc:
            log.error("agent runtime cannot serve calls: %s", exc)
        if self.mail_problem:
            log.error("handoff e-mail is off: %s", self.mail_problem)
        try:
            yield self
        finally:
            await self.live.close()
            if self.mailer is not None:
                await self.mailer.close()
            await self.agents.close()
            await self.store.close()

    async def _close_orphaned_sessions(self) -> None:
        """Sessions left active by a process that died are closed as failed, not lost."""
        for session in await self.store.list_live_sessions():
            session.status = "failed"
            session.ended_at = session.ended_at or now()
            session.end_reason = "server restarted during the call"
            await self.store.tenant(session.tenant_id).put_session(session)
            log.warning("closed orphaned session %s", session.id)

    async def readiness(self) -> dict[str, str]:
        """Each dependency named with 'ok' or what is wrong."""
        checks: dict[str, str] = {}
        for name, check in (
            ("store", self.store.check),
            ("speech_engine", self.engine.check),
        ):
            try:
                await check()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"error: {exc}"
        try:
            checks["agent_runtime"] = await self.agents.check()
        except Exception as exc:
            checks["agent_runtime"] = f"error: {exc}"
        if self.mail_problem:
            checks["handoff_email"] = f"error: {self.mail_problem}"
        elif self.mailer is not None:
            checks["handoff_email"] = self.mailer.describe()
        return checks

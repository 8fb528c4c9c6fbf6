"""Agent builds: SOP files -> a generated, validated, versioned agent, registered in the store.
A failed build names its stage and keeps the previous version serving."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oratio_voice.agents.creator import BuildError, BuildProgress, build_agent
from oratio_voice.agents.deploy import AgentCoreDeployer, DeployError, runtime_id_of
from oratio_voice.events import EventBus
from oratio_voice.models import Agent, AgentConfig, Notification, now
from oratio_voice.notifications import post
from oratio_voice.store.base import BlobStore, NotFound, Store

Progress = Callable[[BuildProgress], Awaitable[None] | None]


class AgentBuilder:
    """Runs the creator for one tenant's agent and keeps the agent record in step."""

    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        events: EventBus,
        deployer: AgentCoreDeployer | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.events = events
        self.deployer = deployer

    async def build(
        self,
        tenant_id: str,
        name: str,
        files: list[tuple[str, bytes]],
        *,
        agent_id: str | None = None,
        config: AgentConfig | None = None,
        progress: Progress | None = None,
    ) -> Agent:
        """Build a new version; raises BuildError after recording the failure."""
        tenant = self.store.tenant(tenant_id)
        try:
            agent = await tenant.get_agent(agent_id) if agent_id else None
        except NotFound:
            agent = None
        if agent is None:
            fields = {"id": agent_id} if agent_id else {}
            agent = Agent(
                tenant_id=tenant_id,
                name=name,
                status="building",
                version=0,
                config=config or AgentConfig(),
                **fields,
            )
        else:
            agent.status = "building" if agent.version == 0 else agent.status
        await tenant.put_agent(agent)
        try:
            result = await build_agent(
                files,
                name=name,
                tenant_id=tenant_id,
                agent_id=agent.id,
                blobs=self.blobs,
                progress=progress,
            )
        except BuildError as exc:
            agent = await tenant.get_agent(agent.id)  # edits made during the build stay
            agent.status = "failed" if agent.version == 0 else agent.status
            agent.updated_at = now()
            await tenant.put_agent(agent)
            await self._notify(agent, f"Build of {name} failed at {exc.stage}", exc.reason)
            raise
        agent = await tenant.get_agent(agent.id)
        agent.version = result.version
        agent.documents = result.documents
        if agent.status in ("building", "failed"):
            agent.status = "active"
        agent.updated_at = now()
        await tenant.put_agent(agent)
        await self._notify(agent, f"{name} version {result.version} is ready", "")
        if self.deployer is not None:
            agent = await self.deploy(tenant_id, agent.id, result.version)
        return agent

    async def deploy(self, tenant_id: str, agent_id: str, version: int) -> Agent:
        """Point the agent's AgentCore runtime at a stored version: a new build, or a rollback
        to an earlier one. Raises DeployError; the previous deployment keeps serving."""
        if self.deployer is None:
            raise DeployError(
                "AgentCore deployment is not configured (ORATIO_AGENTCORE_ROLE_ARN,"
                " ORATIO_AGENTCORE_BUCKET, ORATIO_AWS_REGION)"
            )
        tenant = self.store.tenant(tenant_id)
        agent = await tenant.get_agent(agent_id)
        try:
            deployment = await self.deployer.deploy(
                self.blobs,
                tenant_id,
                agent_id,
                version,
                runtime_id=runtime_id_of(agent.runtime_arn) if agent.runtime_arn else "",
            )
        except DeployError as exc:
            await self._notify(agent, f"Deploying {agent.name} version {version} failed", str(exc))
            raise
        agent = deployment.apply_to(await tenant.get_agent(agent_id))
        await tenant.put_agent(agent)
        await self._notify(agent, f"{agent.name} version {version} is live on AgentCore", "")
        return agent

    async def _notify(self, agent: Agent, title: str, body: str) -> None:
        note = Notification(
            tenant_id=agent.tenant_id, kind="build", title=title, body=body, agent_id=agent.id
        )
        await post(self.store.tenant(agent.tenant_id), self.events, note)

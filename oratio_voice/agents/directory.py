"""Which AgentClient serves an agent. Built agents run as their generated package behind the
AgentCore contract (a supervised local process); `inprocess` answers from the SOP in-process;
`agentcore` invokes the agent's deployed runtime (its `runtime_arn`) on Bedrock AgentCore."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Literal

from oratio_voice.agents.base import AgentClient, AgentError, AgentReply
from oratio_voice.agents.local import InProcessAgentClient
from oratio_voice.agents.package import list_versions, version_prefix
from oratio_voice.agents.responder import SopResponder
from oratio_voice.agents.retrieval import SopIndex
from oratio_voice.agents.supervisor import LocalAgentRuntime, SupervisedAgentClient
from oratio_voice.models import Agent
from oratio_voice.store.base import BlobStore

RuntimeKind = Literal["local", "inprocess", "agentcore"]
REGION_SETTING = "ORATIO_AWS_REGION"


class UnavailableAgentClient:
    """Stands in for an agent that cannot be reached as configured: every turn fails with the
    fix, so the call goes to a person and readiness names the setting."""

    def __init__(self, problem: str) -> None:
        self.problem = problem

    async def invoke(self, session_id: str, message: str) -> AgentReply:
        raise AgentError(self.problem)

    async def check(self) -> None:
        raise AgentError(self.problem)


def arn_region(arn: str) -> str:
    """arn:aws:bedrock-agentcore:us-east-1:123:runtime/x -> us-east-1 ('' if not an ARN)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else ""


class AgentDirectory:
    """Agent id -> a ready client, rebuilt when the agent's version changes."""

    def __init__(
        self,
        blobs: BlobStore,
        runtime: RuntimeKind,
        workdir: Path,
        *,
        region: str = "",
        endpoint_url: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.blobs = blobs
        self.runtime = runtime
        self.workdir = workdir
        self.region = region.strip()
        self.endpoint_url = endpoint_url
        self.timeout = timeout
        self._clients: dict[str, tuple[tuple[int, str], AgentClient]] = {}
        self._runtimes: dict[str, LocalAgentRuntime] = {}
        self._served: dict[str, tuple[int, SupervisedAgentClient]] = {}

    async def client_for(self, agent: Agent) -> AgentClient:
        # A config edit (name, handoff phrases) changes updated_at: the next call sees it.
        stamp = (agent.version, agent.updated_at.isoformat())
        cached = self._clients.get(agent.id)
        if cached and cached[0] == stamp:
            return cached[1]
        client: AgentClient
        if self.runtime == "agentcore" and agent.runtime_arn:
            client = self._agentcore(agent)
        else:  # agentcore without a deployed runtime yet: served like `local`
            built = agent.version in await list_versions(self.blobs, agent.tenant_id, agent.id)
            if self.runtime != "inprocess" and built:
                client = await self._serve(agent)
            else:
                client = InProcessAgentClient(await self._responder(agent, built))
        self._clients[agent.id] = (stamp, client)
        return client

    def _agentcore(self, agent: Agent) -> AgentClient:
        """The deployed runtime's client; each call is one runtime session (see Call.id)."""
        if not self.region:
            return UnavailableAgentClient(self.region_problem())
        where = arn_region(agent.runtime_arn)
        if where != self.region:
            return UnavailableAgentClient(
                f"agent {agent.id} runtime {agent.runtime_arn} is not in {REGION_SETTING}="
                f"{self.region}: set {REGION_SETTING} to the runtime's region"
            )
        try:
            from oratio_voice.agents.runtime import AgentCoreAgentClient

            return AgentCoreAgentClient(
                agent.runtime_arn,
                self.region,
                endpoint_url=self.endpoint_url or None,
                timeout=self.timeout,
            )
        except ImportError as exc:
            return UnavailableAgentClient(
                f"ORATIO_AGENT_RUNTIME=agentcore needs boto3: install oratio-voice[aws] ({exc})"
            )

    def region_problem(self) -> str:
        return (
            f"ORATIO_AGENT_RUNTIME=agentcore needs the AgentCore region: set {REGION_SETTING} "
            "(for example us-east-1, where the agent runtimes are deployed)"
        )

    async def _serve(self, agent: Agent) -> SupervisedAgentClient:
        runtime = self._runtimes.get(agent.id)
        if runtime is None:
            runtime = LocalAgentRuntime(self.blobs, agent.tenant_id, agent.id, self.workdir)
            self._runtimes[agent.id] = runtime
        served = self._served.get(agent.id)
        if served and served[0] == agent.version and runtime.process is not None:
            return served[1]
        if served:
            await served[1].aclose()
        client = (await runtime.serve(agent.version)).client()
        self._served[agent.id] = (agent.version, client)
        return client

    async def _responder(self, agent: Agent, built: bool) -> SopResponder:
        """The SOP text: the built version's extracted knowledge, else the raw documents."""
        if built:
            prefix = version_prefix(agent.tenant_id, agent.id, agent.version) + "knowledge/"
            keys = await self.blobs.list(prefix)
        else:
            keys = [doc.blob_key for doc in agent.documents]
        documents = {
            Path(key).name: (await self.blobs.get(key)).decode("utf-8", "replace") for key in keys
        }
        return SopResponder(
            SopIndex.from_documents(documents),
            agent_name=agent.name,
            handoff_phrases=agent.config.handoff.phrases,
            hand_over_line=agent.config.handoff.hand_over_line,
        )

    async def check(self) -> str:
        """'ok ...' naming what serves agents, or raises when a served agent is down or the
        AgentCore settings cannot work."""
        if self.runtime == "agentcore" and not self.region:
            raise RuntimeError(self.region_problem())
        for agent_id, runtime in self._runtimes.items():
            if runtime.process is not None and not runtime.process.running:
                raise RuntimeError(f"agent {agent_id} runtime process is down")
        for _, client in self._clients.values():
            if isinstance(client, UnavailableAgentClient):
                raise RuntimeError(client.problem)
        where = f" in {self.region}" if self.runtime == "agentcore" else ""
        return f"ok ({self.runtime}{where}: {len(self._runtimes)} agent process(es))"

    async def close(self) -> None:
        for _, client in self._served.values():
            await client.aclose()
        for runtime in self._runtimes.values():
            with contextlib.suppress(Exception):
                await runtime.stop()
        self._runtimes.clear()
        self._served.clear()
        self._clients.clear()

"""Which AgentClient serves an agent. Built agents run as their generated package behind the
AgentCore contract (a supervised local process); `inprocess` answers from the SOP in-process."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Literal

from oratio_voice.agents.base import AgentClient
from oratio_voice.agents.local import InProcessAgentClient
from oratio_voice.agents.package import list_versions, version_prefix
from oratio_voice.agents.responder import SopResponder
from oratio_voice.agents.retrieval import SopIndex
from oratio_voice.agents.supervisor import LocalAgentRuntime, SupervisedAgentClient
from oratio_voice.models import Agent
from oratio_voice.store.base import BlobStore

RuntimeKind = Literal["local", "inprocess"]


class AgentDirectory:
    """Agent id -> a ready client, rebuilt when the agent's version changes."""

    def __init__(self, blobs: BlobStore, runtime: RuntimeKind, workdir: Path) -> None:
        self.blobs = blobs
        self.runtime = runtime
        self.workdir = workdir
        self._clients: dict[str, tuple[tuple[int, str], AgentClient]] = {}
        self._runtimes: dict[str, LocalAgentRuntime] = {}
        self._served: dict[str, tuple[int, SupervisedAgentClient]] = {}

    async def client_for(self, agent: Agent) -> AgentClient:
        # A config edit (name, handoff phrases) changes updated_at: the next call sees it.
        stamp = (agent.version, agent.updated_at.isoformat())
        cached = self._clients.get(agent.id)
        if cached and cached[0] == stamp:
            return cached[1]
        built = agent.version in await list_versions(self.blobs, agent.tenant_id, agent.id)
        if self.runtime == "local" and built:
            client: AgentClient = await self._serve(agent)
        else:
            client = InProcessAgentClient(await self._responder(agent, built))
        self._clients[agent.id] = (stamp, client)
        return client

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
        """'ok ...' naming what serves agents, or raises when a served agent is down."""
        for agent_id, runtime in self._runtimes.items():
            if runtime.process is not None and not runtime.process.running:
                raise RuntimeError(f"agent {agent_id} runtime process is down")
        return f"ok ({self.runtime}: {len(self._runtimes)} agent process(es))"

    async def close(self) -> None:
        for _, client in self._served.values():
            await client.aclose()
        for runtime in self._runtimes.values():
            with contextlib.suppress(Exception):
                await runtime.stop()
        self._runtimes.clear()
        self._served.clear()
        self._clients.clear()

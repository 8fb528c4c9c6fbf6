"""Which AgentClient serves an agent: built from its SOP documents, cached per version."""

from __future__ import annotations

from oratio_voice.agents.base import AgentClient
from oratio_voice.agents.local import InProcessAgentClient
from oratio_voice.agents.responder import SopResponder
from oratio_voice.agents.retrieval import SopIndex
from oratio_voice.models import Agent
from oratio_voice.store.base import BlobStore


class AgentDirectory:
    """Agent id -> a ready client. Rebuilt when the agent's version changes."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._clients: dict[str, tuple[int, AgentClient]] = {}

    async def client_for(self, agent: Agent) -> AgentClient:
        cached = self._clients.get(agent.id)
        if cached and cached[0] == agent.version:
            return cached[1]
        documents = {
            doc.name: (await self.blobs.get(doc.blob_key)).decode("utf-8", "replace")
            for doc in agent.documents
        }
        responder = SopResponder(
            SopIndex.from_documents(documents),
            agent_name=agent.name,
            handoff_phrases=agent.config.handoff.phrases,
            hand_over_line=agent.config.handoff.hand_over_line,
        )
        client = InProcessAgentClient(responder)
        self._clients[agent.id] = (agent.version, client)
        return client

"""In-process agent client: the offline SOP responder behind the AgentClient seam."""

from __future__ import annotations

from oratio_voice.agents.base import AgentReply
from oratio_voice.agents.responder import SopResponder


class InProcessAgentClient:
    """Serves one agent's responder in this process (no network hop)."""

    def __init__(self, responder: SopResponder) -> None:
        self.responder = responder

    async def invoke(self, session_id: str, message: str) -> AgentReply:
        return self.responder.reply(session_id, message)

    async def check(self) -> None:
        return None

"""The AgentClient seam: one call's turns go to an agent runtime, answers come back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class AgentError(Exception):
    """The agent runtime failed to answer (timeout, 5xx, malformed reply)."""


@dataclass(frozen=True, slots=True)
class AgentReply:
    """An agent's answer: what to say, which SOP passages it rests on, and whether a person
    must take over (`handoff` holds the reason)."""

    text: str
    sources: list[str] = field(default_factory=list)
    handoff: str = ""


class AgentClient(Protocol):
    async def invoke(self, session_id: str, message: str) -> AgentReply:
        """Send one caller turn in the conversation `session_id`; raises AgentError."""
        ...

    async def check(self) -> None:
        """Raise AgentError if the runtime is unreachable (used by /readyz)."""
        ...

"""The SpeechEngine seam: open a session, feed caller audio/text/tool results, read events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Endpointing = Literal["HIGH", "MEDIUM", "LOW"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: name, description, JSON schema of its arguments."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HistoryTurn:
    """A finished turn replayed into a new engine session (continuation, resumed calls)."""

    role: Literal["caller", "agent"]
    text: str


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything an engine session needs to start talking."""

    system_prompt: str
    voice: str = "tiffany"
    language: str = "en-US"
    input_rate: int = 16000
    output_rate: int = 16000
    tools: tuple[ToolSpec, ...] = ()
    history: tuple[HistoryTurn, ...] = ()
    endpointing: Endpointing = "MEDIUM"
    greeting: str = ""


# Events an engine session emits -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerTranscript:
    text: str
    final: bool = True


@dataclass(frozen=True, slots=True)
class AgentTranscript:
    text: str
    final: bool = True


@dataclass(frozen=True, slots=True)
class AgentAudio:
    """PCM16 mono at the config's output rate."""

    pcm: bytes


@dataclass(frozen=True, slots=True)
class ToolUse:
    tool_use_id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The caller barged in: drop the agent audio still queued."""


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """The agent finished an utterance."""


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class EngineError:
    """A failure; `recoverable` False means this session can no longer serve the call."""

    kind: str
    message: str
    recoverable: bool = False


EngineEvent = (
    CallerTranscript
    | AgentTranscript
    | AgentAudio
    | ToolUse
    | Interrupted
    | TurnEnd
    | Usage
    | EngineError
)


class EngineSession(Protocol):
    """One live conversation with a speech engine."""

    def send_audio(self, pcm: bytes) -> None:
        """Queue caller audio (PCM16 at config.input_rate). Never blocks: hot path."""

    async def send_text(self, text: str) -> None:
        """The caller typed instead of speaking."""

    async def send_tool_result(self, tool_use_id: str, result: dict[str, Any]) -> None:
        """Answer a ToolUse event."""

    def events(self) -> AsyncIterator[EngineEvent]:
        """Events until the session closes."""

    async def close(self) -> None:
        """End the session and release its resources; idempotent."""


class SpeechEngine(Protocol):
    """A factory of engine sessions (one per call)."""

    name: str

    async def open(self, config: EngineConfig) -> EngineSession: ...

    async def check(self) -> None:
        """Raise if the engine cannot serve calls (used by /readyz)."""

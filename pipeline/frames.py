"""Frames: the small immutable messages that flow through a call's pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["caller", "agent"]


@dataclass(frozen=True, slots=True)
class Frame:
    """Base of every frame."""


@dataclass(frozen=True, slots=True)
class AudioFrame(Frame):
    """Mono 16-bit little-endian PCM at `sample_rate` Hz."""

    pcm: bytes
    sample_rate: int

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) * 500 / self.sample_rate


@dataclass(frozen=True, slots=True)
class InputAudioFrame(AudioFrame):
    """Audio the caller spoke."""


@dataclass(frozen=True, slots=True)
class OutputAudioFrame(AudioFrame):
    """Audio the agent speaks to the caller."""


@dataclass(frozen=True, slots=True)
class TextInputFrame(Frame):
    """Text the caller typed instead of speaking (widget text fallback)."""

    text: str


@dataclass(frozen=True, slots=True)
class TranscriptFrame(Frame):
    """What the caller said or the agent said; `final` once the words are settled."""

    role: Role
    text: str
    final: bool = True


@dataclass(frozen=True, slots=True)
class ToolCallFrame(Frame):
    """The speech model asks for a tool to run."""

    call_id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InterruptionFrame(Frame):
    """Barge-in: the caller spoke over the agent; queued agent audio must be dropped."""


@dataclass(frozen=True, slots=True)
class AgentTurnEndFrame(Frame):
    """The agent finished producing one utterance (its audio may still be playing)."""

    text: str = ""


@dataclass(frozen=True, slots=True)
class DTMFFrame(Frame):
    """A keypad digit the caller pressed (0-9, *, #, A-D)."""

    digit: str


@dataclass(frozen=True, slots=True)
class HandoffRequestFrame(Frame):
    """Something decided this call needs a person: the session layer transfers it."""

    reason: str
    source: str = "agent"


@dataclass(frozen=True, slots=True)
class UsageFrame(Frame):
    """Tokens the speech model used so far in this call (deltas)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class ErrorFrame(Frame):
    """A failure inside the pipeline; `fatal` when the AI can no longer serve the call."""

    message: str
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class EndFrame(Frame):
    """The call is over."""

    reason: str = "hangup"

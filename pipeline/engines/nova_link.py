"""One Nova Sonic stream of a call: what we send on it, and what the model's events on it mean."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.engines import nova_protocol as proto
from pipeline.engines.base import (
    AgentAudio,
    AgentTranscript,
    CallerTranscript,
    EngineConfig,
    EngineEvent,
    HistoryTurn,
    Interrupted,
    ToolUse,
    TurnEnd,
    Usage,
)
from pipeline.engines.nova_protocol import MalformedEvent, NovaStream, NovaStreamError

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = "You are a helpful, concise assistant answering a phone call."


class AssistantSpeaks:
    """Marker: the model opened an assistant AUDIO content (a continuation trigger point)."""


ASSISTANT_SPEAKS = AssistantSpeaks()


@dataclass(frozen=True, slots=True)
class BadToolUse:
    """The model called a tool with arguments that are not a JSON object: answer with an error."""

    tool_use_id: str
    name: str
    error: str


Output = EngineEvent | AssistantSpeaks | BadToolUse


@dataclass(slots=True)
class _Content:
    type: str
    role: str
    stage: str | None


class StreamLink:
    """A stream with its prompt/content names, a send lock keeping contents whole, turn state."""

    def __init__(self, stream: NovaStream, *, number: int, opened_at: float) -> None:
        self.stream = stream
        self.number = number
        self.opened_at = opened_at
        self.prompt = str(uuid.uuid4())
        self.audio_content = str(uuid.uuid4())
        self._audio_prefix = proto.audio_input_prefix(self.prompt, self.audio_content)
        self._lock = asyncio.Lock()
        self.audio_open = False
        self.ended = False
        self.retired = False
        self.failure: NovaStreamError | None = None
        self.reader: asyncio.Task[None] | None = None
        # What the model has open on this stream.
        self._contents: dict[str, _Content] = {}
        self._tool_calls: dict[str, tuple[str, str, str]] = {}
        self.pending_tools: set[str] = set()
        self.turn_open = False
        self._open_assistant = 0
        self._finals_owed = 0
        self._user_open = 0
        self._interrupted = False
        self._drop_audio = False
        self._totals = (0, 0)

    @property
    def idle(self) -> bool:
        """A turn boundary: nobody mid-utterance, no text still owed, no tool call outstanding."""
        return (
            not self.turn_open
            and self._open_assistant == 0
            and self._finals_owed <= 0
            and self._user_open == 0
            and not self.pending_tools
        )

    # Sending -----------------------------------------------------------------------

    async def send(self, events: Sequence[bytes]) -> None:
        """Send events back to back, so no other content can interleave with them."""
        async with self._lock:
            await self._send(events)

    async def _send(self, events: Sequence[bytes]) -> None:
        if self.ended:
            raise NovaStreamError("stream_closed", "this stream was already ended", retryable=True)
        for event in events:
            await self.stream.send(event)

    async def setup(
        self, config: EngineConfig, inference: proto.Inference, nova2: bool = True
    ) -> None:
        """sessionStart, promptStart (voice, output format, tools) and the SYSTEM prompt."""
        system = config.system_prompt.strip() or DEFAULT_SYSTEM_PROMPT
        events = [
            proto.session_start(inference, config.endpointing if nova2 else None),
            proto.prompt_start(self.prompt, config.voice, config.output_rate, config.tools),
            *proto.text_content(self.prompt, str(uuid.uuid4()), "SYSTEM", system, False),
        ]
        await self.send(events)

    async def start_audio(
        self, history: Sequence[HistoryTurn], input_rate: int, replay: Sequence[bytes]
    ) -> None:
        """History as text, then the caller's audio content, primed with the replayed audio."""
        events: list[bytes] = []
        for turn in history:
            role = proto.history_role(turn)
            events += proto.text_content(self.prompt, str(uuid.uuid4()), role, turn.text, False)
        events.append(proto.audio_content_start(self.prompt, self.audio_content, input_rate))
        events += [proto.audio_input(self._audio_prefix, chunk) for chunk in replay]
        async with self._lock:
            await self._send(events)
            self.audio_open = True

    async def send_audio(self, pcm: bytes) -> None:
        async with self._lock:
            if not self.audio_open:
                raise NovaStreamError("stream_closed", "audio content is not open", retryable=True)
            await self.stream.send(proto.audio_input(self._audio_prefix, pcm))

    async def send_text(self, text: str) -> None:
        """Nova 2 cross-modal input: an interactive USER TEXT content mid-call."""
        await self.send(proto.text_content(self.prompt, str(uuid.uuid4()), "USER", text, True))

    async def send_tool_result(self, tool_use_id: str, result: dict[str, Any]) -> None:
        content = str(uuid.uuid4())
        await self.send(proto.tool_result_content(self.prompt, content, tool_use_id, result))

    async def finish(self) -> None:
        """Close the audio content, the prompt and the session, then the stream (best effort)."""
        try:
            async with self._lock:
                if not self.ended:
                    events = [proto.prompt_end(self.prompt), proto.session_end()]
                    if self.audio_open:
                        events.insert(0, proto.content_end(self.prompt, self.audio_content))
                    self.audio_open = False
                    self.ended = True
                    for event in events:
                        await self.stream.send(event)
        except Exception as exc:  # hanging up must not fail because the stream already did
            log.debug("stream %d did not end cleanly: %s", self.number, exc)
        finally:
            self.audio_open = False
            self.ended = True
            await self.abort()

    async def abort(self) -> None:
        """Drop the stream without the closing events (it is already broken)."""
        self.audio_open = False
        self.ended = True
        try:
            await self.stream.close()
        except Exception as exc:  # a broken stream may fail to close; nothing is left to do
            log.debug("stream %d close failed: %s", self.number, exc)

    # Reading -----------------------------------------------------------------------

    def interpret(self, raw: bytes) -> list[Output]:
        """What one output event means for the call (raises MalformedEvent)."""
        name, body = proto.decode(raw)
        match name:
            case "contentStart":
                return self._content_start(body)
            case "textOutput":
                return self._text_output(body)
            case "audioOutput":
                content = proto.field(body, "content", name)
                if self._drop_audio:
                    return []
                pcm = proto.decode_audio(content)
                return [AgentAudio(pcm)] if pcm else []
            case "toolUse":
                key = body.get("contentId") or ""
                call = (
                    proto.field(body, "toolUseId", name),
                    proto.field(body, "toolName", name),
                    body.get("content") or "",
                )
                if not isinstance(call[2], str):
                    raise MalformedEvent("toolUse content is not a JSON string")
                self._tool_calls[str(key)] = call
                return []
            case "contentEnd":
                return self._content_end(body)
            case "completionEnd":
                self._finals_owed = 0
                return self._end_turn()
            case "usageEvent":
                tokens_in, tokens_out = proto.token_counts(body, self._totals)
                total_in, total_out = body.get("totalInputTokens"), body.get("totalOutputTokens")
                if isinstance(total_in, int) and isinstance(total_out, int):
                    self._totals = (total_in, total_out)
                return [Usage(tokens_in, tokens_out)] if tokens_in or tokens_out else []
            case _:  # completionStart and events newer than this code carry nothing we need
                return []

    def _content_start(self, body: dict[str, Any]) -> list[Output]:
        kind = proto.field(body, "type", "contentStart")
        role = proto.field(body, "role", "contentStart")
        stage = proto.generation_stage(body)
        content_id = body.get("contentId")
        if isinstance(content_id, str):
            self._contents[content_id] = _Content(kind, role, stage)
        if role == "USER":
            self._user_open += 1
            return []
        if role != "ASSISTANT":
            return []
        self._open_assistant += 1
        if kind == "AUDIO" or (kind == "TEXT" and stage == "SPECULATIVE"):
            if not self.turn_open:
                self.turn_open = True
                self._interrupted = False
                self._finals_owed = max(0, self._finals_owed)
            if stage == "SPECULATIVE":
                self._finals_owed += 1
            if kind == "AUDIO":
                self._drop_audio = False
                return [ASSISTANT_SPEAKS]
        return []

    def _text_output(self, body: dict[str, Any]) -> list[Output]:
        text = proto.field(body, "content", "textOutput")
        content = self._contents.get(str(body.get("contentId")))
        role = body.get("role") or (content.role if content else None)
        stage = content.stage if content else None
        if proto.is_v1_interruption(text):
            return self._interrupt()
        final = stage != "SPECULATIVE"
        if role == "USER":
            return [CallerTranscript(text, final)]
        if role == "ASSISTANT":
            return [AgentTranscript(text, final)]
        return []

    def _content_end(self, body: dict[str, Any]) -> list[Output]:
        content_id = str(body.get("contentId"))
        content = self._contents.pop(content_id, None)
        stop = body.get("stopReason")
        out: list[Output] = []
        kind = body.get("type") or (content.type if content else None)
        if kind == "TOOL" and (
            call := self._tool_calls.pop(content_id, None) or self._tool_calls.pop("", None)
        ):
            out += self._tool_call(*call)
        if content is not None and content.role == "USER":
            self._user_open = max(0, self._user_open - 1)
        if content is not None and content.role == "ASSISTANT":
            self._open_assistant = max(0, self._open_assistant - 1)
            if content.stage == "FINAL":
                self._finals_owed -= 1
        if stop == "INTERRUPTED":
            out += self._interrupt()
        elif stop == "END_TURN" and (content is None or content.role == "ASSISTANT"):
            out += self._end_turn()
        return out

    def _tool_call(self, tool_use_id: str, name: str, content: str) -> list[Output]:
        try:
            arguments = json.loads(content) if content.strip() else {}
        except json.JSONDecodeError as exc:
            return [BadToolUse(tool_use_id, name, f"arguments are not valid JSON: {exc}")]
        if not isinstance(arguments, dict):
            return [BadToolUse(tool_use_id, name, "arguments must be a JSON object")]
        self.pending_tools.add(tool_use_id)
        return [ToolUse(tool_use_id, name, arguments)]

    def _interrupt(self) -> list[Output]:
        self._drop_audio = True
        self.turn_open = False
        self._finals_owed = 0
        if self._interrupted:
            return []
        self._interrupted = True
        return [Interrupted()]

    def _end_turn(self) -> list[Output]:
        if not self.turn_open:
            return []
        self.turn_open = False
        return [TurnEnd()]

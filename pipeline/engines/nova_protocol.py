"""Amazon Nova Sonic's event protocol: events a client sends, events it reads, the stream seam.

Plain data in, bytes out: nothing here touches the network or the AWS SDK, so a scripted double
can drive everything above `NovaStream`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pipeline.engines.base import HistoryTurn, ToolSpec

AUDIO_RATES = (8000, 16000, 24000)
ENDPOINTING = ("HIGH", "MEDIUM", "LOW")
MAX_HISTORY_MESSAGE_BYTES = 50 * 1024
MAX_HISTORY_TOTAL_BYTES = 200 * 1024

Role = Literal["SYSTEM", "USER", "ASSISTANT", "TOOL", "SYSTEM_SPEECH"]


class NovaStreamError(Exception):
    """A bidirectional stream failed; `retryable` means a fresh stream may carry the call on."""

    def __init__(self, kind: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.retryable = retryable


class MalformedEvent(ValueError):
    """The model sent bytes that are not a well-formed Nova Sonic output event."""


class NovaStream(Protocol):
    """One open bidirectional stream: JSON event bytes go in, JSON event bytes come out."""

    async def send(self, event: bytes) -> None:
        """Send one input event; raises NovaStreamError when the stream is broken."""

    async def receive(self) -> bytes | None:
        """The next output event, None once the service closed the stream cleanly."""

    async def close(self) -> None:
        """Close the input side and release the stream; idempotent."""


NovaTransport = Callable[[], Awaitable[NovaStream]]
"""Opens a fresh stream to the model (one per continuation segment of a call)."""


@dataclass(frozen=True, slots=True)
class Inference:
    """sessionStart's inferenceConfiguration."""

    max_tokens: int = 1024
    top_p: float = 0.9
    temperature: float = 0.7


def check_rate(rate: int, what: str) -> None:
    """Nova Sonic speaks and listens at 8, 16 or 24 kHz only."""
    if rate not in AUDIO_RATES:
        raise ValueError(f"Nova Sonic {what} rate must be 8000, 16000 or 24000 Hz, not {rate}")


def encode(name: str, body: dict[str, Any]) -> bytes:
    return json.dumps({"event": {name: body}}, ensure_ascii=False, separators=(",", ":")).encode()


def session_start(inference: Inference, endpointing: str | None) -> bytes:
    body: dict[str, Any] = {
        "inferenceConfiguration": {
            "maxTokens": inference.max_tokens,
            "topP": inference.top_p,
            "temperature": inference.temperature,
        }
    }
    if endpointing is not None:
        body["turnDetectionConfiguration"] = {"endpointingSensitivity": endpointing}
    return encode("sessionStart", body)


def audio_format(rate: int) -> dict[str, Any]:
    return {
        "mediaType": "audio/lpcm",
        "sampleRateHertz": rate,
        "sampleSizeBits": 16,
        "channelCount": 1,
        "audioType": "SPEECH",
        "encoding": "base64",
    }


def tool_configuration(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """Tools as Nova wants them: the input schema travels as a JSON *string*."""
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": tool.name,
                    "description": tool.description,
                    "inputSchema": {"json": json.dumps(tool.input_schema)},
                }
            }
            for tool in tools
        ]
    }


def prompt_start(prompt: str, voice: str, output_rate: int, tools: Sequence[ToolSpec]) -> bytes:
    body: dict[str, Any] = {
        "promptName": prompt,
        "textOutputConfiguration": {"mediaType": "text/plain"},
        "audioOutputConfiguration": {**audio_format(output_rate), "voiceId": voice},
        "toolUseOutputConfiguration": {"mediaType": "application/json"},
    }
    if tools:
        body["toolConfiguration"] = tool_configuration(tools)
    return encode("promptStart", body)


def text_content(
    prompt: str, content: str, role: Role, text: str, interactive: bool
) -> list[bytes]:
    """contentStart + textInput + contentEnd of one TEXT content."""
    start = {
        "promptName": prompt,
        "contentName": content,
        "type": "TEXT",
        "interactive": interactive,
        "role": role,
        "textInputConfiguration": {"mediaType": "text/plain"},
    }
    return [
        encode("contentStart", start),
        encode("textInput", {"promptName": prompt, "contentName": content, "content": text}),
        content_end(prompt, content),
    ]


def audio_content_start(prompt: str, content: str, input_rate: int) -> bytes:
    """The one interactive USER AUDIO content that carries the caller for a whole stream."""
    start = {
        "promptName": prompt,
        "contentName": content,
        "type": "AUDIO",
        "interactive": True,
        "role": "USER",
        "audioInputConfiguration": audio_format(input_rate),
    }
    return encode("contentStart", start)


def audio_input_prefix(prompt: str, content: str) -> bytes:
    """The constant head of every audioInput event of a content (hot path: built once)."""
    head = json.dumps({"promptName": prompt, "contentName": content})[:-1]
    return ('{"event":{"audioInput":' + head + ',"content":"').encode()


def audio_input(prefix: bytes, pcm: bytes) -> bytes:
    return prefix + base64.b64encode(pcm) + b'"}}}'


def tool_result_content(
    prompt: str, content: str, tool_use_id: str, result: dict[str, Any]
) -> list[bytes]:
    """A TOOL content answering one toolUse; the result travels as a JSON string."""
    start = {
        "promptName": prompt,
        "contentName": content,
        "interactive": False,
        "type": "TOOL",
        "role": "TOOL",
        "toolResultInputConfiguration": {
            "toolUseId": tool_use_id,
            "type": "TEXT",
            "textInputConfiguration": {"mediaType": "text/plain"},
        },
    }
    payload = json.dumps(result, ensure_ascii=False, default=str)
    return [
        encode("contentStart", start),
        encode("toolResult", {"promptName": prompt, "contentName": content, "content": payload}),
        content_end(prompt, content),
    ]


def content_end(prompt: str, content: str) -> bytes:
    return encode("contentEnd", {"promptName": prompt, "contentName": content})


def prompt_end(prompt: str) -> bytes:
    return encode("promptEnd", {"promptName": prompt})


def session_end() -> bytes:
    return encode("sessionEnd", {})


def _clip(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")


def prepare_history(
    turns: Iterable[HistoryTurn],
    max_message_bytes: int = MAX_HISTORY_MESSAGE_BYTES,
    max_total_bytes: int = MAX_HISTORY_TOTAL_BYTES,
) -> list[HistoryTurn]:
    """History Nova accepts: turns merged by speaker, newest kept within the caps, caller first."""
    merged: list[HistoryTurn] = []
    for turn in turns:
        text = turn.text.strip()
        if not text:
            continue
        if merged and merged[-1].role == turn.role:
            merged[-1] = HistoryTurn(turn.role, f"{merged[-1].text} {text}")
        else:
            merged.append(HistoryTurn(turn.role, text))
    kept: list[HistoryTurn] = []
    total = 0
    for turn in reversed(merged):
        text = _clip(turn.text, max_message_bytes)
        size = len(text.encode())
        if total + size > max_total_bytes:
            break
        total += size
        kept.append(HistoryTurn(turn.role, text))
    kept.reverse()
    while kept and kept[0].role != "caller":
        kept.pop(0)
    return kept


def history_role(turn: HistoryTurn) -> Role:
    return "USER" if turn.role == "caller" else "ASSISTANT"


def decode(raw: bytes) -> tuple[str, dict[str, Any]]:
    """An output event's name and body; MalformedEvent when it is not `{"event": {name: {...}}}`."""
    try:
        message = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    event = message.get("event") if isinstance(message, dict) else None
    if not isinstance(event, dict) or len(event) != 1:
        raise MalformedEvent("expected {'event': {name: body}}")
    ((name, body),) = event.items()
    if not isinstance(body, dict):
        raise MalformedEvent(f"{name} body is not an object")
    return name, body


def field(body: dict[str, Any], key: str, event: str) -> str:
    """A required string field of an output event."""
    value = body.get(key)
    if not isinstance(value, str):
        raise MalformedEvent(f"{event} without a string {key}")
    return value


def generation_stage(body: dict[str, Any]) -> str | None:
    """SPECULATIVE or FINAL from a contentStart's additionalModelFields (a JSON string)."""
    extra = body.get("additionalModelFields")
    if not extra:
        return None
    try:
        fields = json.loads(extra) if isinstance(extra, str) else extra
    except json.JSONDecodeError:
        raise MalformedEvent("contentStart with unreadable additionalModelFields") from None
    stage = fields.get("generationStage") if isinstance(fields, dict) else None
    return stage if isinstance(stage, str) else None


def is_v1_interruption(text: str) -> bool:
    """Nova Sonic v1 signals barge-in as a textOutput whose content is {"interrupted": true}."""
    if not text.lstrip().startswith("{"):
        return False
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and value.get("interrupted") is True


def decode_audio(content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except ValueError:
        raise MalformedEvent("audioOutput content is not base64") from None


def token_counts(body: dict[str, Any], totals: tuple[int, int]) -> tuple[int, int]:
    """(input, output) tokens of a usageEvent: its delta, else the change of its running totals."""
    details = body.get("details")
    delta = details.get("delta") if isinstance(details, dict) else None
    if isinstance(delta, dict):
        return _tokens(delta.get("input")), _tokens(delta.get("output"))
    total_in, total_out = body.get("totalInputTokens"), body.get("totalOutputTokens")
    if not isinstance(total_in, int) or not isinstance(total_out, int):
        raise MalformedEvent("usageEvent without details.delta or token totals")
    return max(0, total_in - totals[0]), max(0, total_out - totals[1])


def _tokens(part: object) -> int:
    if part is None:
        return 0
    if not isinstance(part, dict):
        raise MalformedEvent("usageEvent token counts are not an object")
    count = 0
    for key in ("speechTokens", "textTokens"):
        value = part.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedEvent(f"usageEvent {key} is not an integer")
        count += value
    return count

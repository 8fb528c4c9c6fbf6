"""Browser connector: the widget's WebSocket protocol (connectors/web/PROTOCOL.md) <-> frames."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.base import ProtocolError, SoftError, TransferTarget, json_object
from connectors.writer import SocketWriter
from pipeline.frames import (
    AgentTurnEndFrame,
    DTMFFrame,
    EndFrame,
    Frame,
    InputAudioFrame,
    InterruptionFrame,
    OutputAudioFrame,
    TextInputFrame,
    TranscriptFrame,
)

SUPPORTED_RATES = frozenset({8000, 16000, 24000, 44100, 48000})
MAX_TEXT = 2000
DTMF_DIGITS = frozenset("0123456789*#")


@dataclass(frozen=True, slots=True)
class Hello:
    sample_rate: int
    resume: str = ""


def parse_hello(text: str) -> Hello:
    message = json_object(text, ProtocolError)
    if message.get("type") != "hello":
        raise ProtocolError("the first message must be hello")
    rate = message.get("sample_rate")
    if type(rate) is not int:
        raise ProtocolError("hello.sample_rate must be an integer")
    if rate not in SUPPORTED_RATES:
        raise ProtocolError(f"unsupported sample rate {rate}", code=4415)
    resume = message.get("resume") or ""
    if not isinstance(resume, str) or len(resume) > 200:
        raise ProtocolError("hello.resume must be a string")
    return Hello(rate, resume)


def parse_message(data: str | bytes, sample_rate: int) -> Frame:
    """One client message after hello: binary audio or a JSON control message."""
    if isinstance(data, bytes):
        if len(data) % 2:
            raise SoftError("audio frames must hold whole 16-bit samples")
        return InputAudioFrame(data, sample_rate)
    message = json_object(data, ProtocolError)
    kind = message.get("type")
    if kind == "text":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise SoftError("text.text must be a non-empty string")
        if len(text) > MAX_TEXT:
            raise SoftError(f"text longer than {MAX_TEXT} characters")
        return TextInputFrame(text.strip())
    if kind == "dtmf":
        digit = message.get("digit")
        if digit not in DTMF_DIGITS:
            raise SoftError("dtmf.digit must be one of 0-9 * #")
        return DTMFFrame(str(digit))
    if kind == "bye":
        return EndFrame("caller hung up")
    raise ProtocolError(f"unknown message type {kind!r}")


def encode_frame(frame: Frame) -> str | bytes | None:
    """The wire form of an outbound frame, or None for frames the widget doesn't need."""
    if type(frame) is OutputAudioFrame:
        return frame.pcm
    if isinstance(frame, TranscriptFrame):
        return _dump(type="transcript", role=frame.role, text=frame.text, final=frame.final)
    if isinstance(frame, InterruptionFrame):
        return _dump(type="flush")
    if isinstance(frame, AgentTurnEndFrame):
        return _dump(type="state", state="listening")
    return None


def _dump(**message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))


class Socket(Protocol):
    """The part of a WebSocket the connector uses (Starlette's WebSocket fits)."""

    async def send_text(self, data: str) -> None: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class BrowserConnector:
    """One widget socket. Outbound frames go through a queue to a writer task."""

    channel = "browser"

    def __init__(self, socket: Socket, max_queue: int = 2000) -> None:
        self.socket = socket
        self._writer = SocketWriter(self._send, _is_audio, max_queue)
        self._speaking = False

    def send(self, frame: Frame) -> None:
        if isinstance(frame, InterruptionFrame):
            self._writer.drop_audio()
        wire = encode_frame(frame)
        if wire is None:
            return
        if isinstance(wire, bytes) and not self._speaking:
            self._speaking = True
            self._put(_dump(type="state", state="speaking"))
        elif isinstance(frame, AgentTurnEndFrame | InterruptionFrame):
            self._speaking = False
        elif isinstance(frame, TranscriptFrame) and frame.role == "caller" and frame.final:
            self._put(wire)
            wire = _dump(type="state", state="thinking")
        self._put(wire)

    def send_message(self, **message: Any) -> None:
        self._put(_dump(**message))

    async def transfer(self, target: TransferTarget, reason: str, summary: str) -> None:
        """Website callers wait in the console's human queue; the widget says so."""
        self.send_message(
            type="handoff",
            reason=reason,
            queue=target.queue,
            message="You are being connected to a member of our team. Please stay on the line.",
        )
        self.send_message(type="state", state="handed_off")

    def send_operator(self, name: str) -> None:
        """A person in the console has taken the call over: the widget shows who."""
        self.send_message(type="operator", name=name)

    def send_operator_text(self, text: str) -> None:
        """A line typed by the person who took the call over."""
        self.send_message(type="transcript", role="operator", text=text, final=True)

    async def hangup(self, reason: str) -> None:
        self.send_message(type="state", state="ended")
        self.send_message(type="end", reason=reason)
        await self.close(1000, reason)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Flush what is queued, then close the socket."""
        await self._writer.flush()
        with contextlib.suppress(Exception):
            await self.socket.close(code, reason[:120])

    def abandon(self) -> None:
        """The socket is gone: stop writing to it."""
        self._writer.abandon()

    def _put(self, item: str | bytes) -> None:
        self._writer.put(item)

    async def _send(self, item: str | bytes) -> None:
        if isinstance(item, bytes):
            await self.socket.send_bytes(item)
        else:
            await self.socket.send_text(item)


def _is_audio(item: str | bytes) -> bool:
    return isinstance(item, bytes)

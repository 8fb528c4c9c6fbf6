"""A protocol-faithful scripted Amazon Nova Sonic double at the `NovaStream` seam (never AWS).

Every event the engine sends is checked against the order and fields documented in
`shared/reference/nova-sonic.md`:

    sessionStart -> promptStart -> SYSTEM text content -> history text contents (USER first)
    -> one interactive USER AUDIO content (audioInput chunks of at most 32 ms; cross-modal
    USER text and TOOL result contents in between, never interleaved) -> contentEnd of the audio
    -> promptEnd -> sessionEnd

A violation raises `ProtocolViolation` from `send` and is recorded in `NovaDouble.violations`, so
a test still fails when the engine swallowed the exception. Tests script the model's side:
transcripts, speech, tool uses, barge-in, usage, malformed bytes, errors and stream closure.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from pipeline.engines.nova_protocol import NovaStreamError

RATES = (8000, 16000, 24000)
MAX_HISTORY_MESSAGE = 50 * 1024
MAX_HISTORY_TOTAL = 200 * 1024
TEXT_CONFIG = {"mediaType": "text/plain"}
AUDIO_KEYS = {"mediaType", "sampleRateHertz", "sampleSizeBits", "channelCount", "audioType"}


class ProtocolViolation(AssertionError):
    """The engine sent something Nova Sonic would reject."""


def _audio_config(config: object, what: str, extra: set[str]) -> dict[str, Any]:
    expect = {"mediaType": "audio/lpcm", "sampleSizeBits": 16, "channelCount": 1}
    expect |= {"audioType": "SPEECH", "encoding": "base64"}
    if not isinstance(config, dict) or set(config) != AUDIO_KEYS | {"encoding"} | extra:
        raise ProtocolViolation(f"{what} has the wrong fields: {config}")
    for key, value in expect.items():
        if config[key] != value:
            raise ProtocolViolation(f"{what}.{key} must be {value!r}, not {config[key]!r}")
    if config["sampleRateHertz"] not in RATES:
        raise ProtocolViolation(f"{what}.sampleRateHertz {config['sampleRateHertz']} unsupported")
    return config


class NovaDoubleStream:
    """One scripted bidirectional stream."""

    def __init__(self, double: NovaDouble, number: int) -> None:
        self.double = double
        self.number = number
        self.opened_at = double.clock() if double.clock else 0.0
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.session_config: dict[str, Any] = {}
        self.prompt_config: dict[str, Any] = {}
        self.prompt_name = ""
        self.system_prompt: str | None = None
        self.history: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self.tool_results: list[tuple[str, Any]] = []
        self.audio = bytearray()
        self.audio_chunks = 0
        self.audio_rate = 0
        self.phase = "new"
        self.closed = False
        self.send_error: BaseException | None = None
        self._names: set[str] = set()
        self._audio_name = ""
        self._open: dict[str, Any] | None = None
        self._short_chunk = False
        self._history_bytes = 0
        self._out: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._completion = str(uuid.uuid4())
        self._speaking: str | None = None
        self._totals = [0, 0]
        self.tool_uses: dict[str, str] = {}
        self._answerable: set[str] = set()

    # The NovaStream interface ----------------------------------------------------------

    async def send(self, event: bytes) -> None:
        if self.send_error is not None:
            error, self.send_error = self.send_error, None
            raise error
        try:
            self._check(event)
        except ProtocolViolation as exc:
            self.double.violations.append(f"stream {self.number}: {exc}")
            raise
        if self.double.on_event is not None:
            name, body = self.events[-1]
            self.double.on_event(self, name, body)

    async def receive(self) -> bytes | None:
        if self.closed and self._out.empty():
            return None
        item = await self._out.get()
        if isinstance(item, BaseException):
            raise item
        if item is None:
            self.closed = True
        return item

    async def close(self) -> None:
        self.closed = True
        self._out.put_nowait(None)

    # Checking what the engine sends -----------------------------------------------------

    def _check(self, raw: bytes) -> None:
        if self.closed:
            raise ProtocolViolation("event sent after the stream was closed")
        clock, limit = self.double.clock, self.double.limit_seconds
        if clock is not None and clock() - self.opened_at > limit:
            raise ProtocolViolation(f"stream used {clock() - self.opened_at:.0f}s, past {limit}s")
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise ProtocolViolation(f"not JSON: {exc}") from None
        event = message.get("event") if isinstance(message, dict) else None
        if not isinstance(event, dict) or set(message) != {"event"} or len(event) != 1:
            raise ProtocolViolation(f"not a single {{'event': {{name: body}}}}: {message}")
        ((name, body),) = event.items()
        if not isinstance(body, dict):
            raise ProtocolViolation(f"{name} body is not an object")
        self.events.append((name, body))
        named = self.phase not in ("new", "session") and name != "sessionEnd"
        if named and body.get("promptName") != self.prompt_name:
            raise ProtocolViolation(f"{name} has promptName {body.get('promptName')!r}")
        if self._open is not None:
            self._inside_content(name, body)
            return
        match (self.phase, name):
            case ("new", "sessionStart"):
                self._session_start(body)
            case ("session", "promptStart"):
                self._prompt_start(body)
            case ("prompt" | "audio", "contentStart"):
                self._content_start(body)
            case ("audio", "audioInput"):
                self._audio_input(body)
            case ("audio", "contentEnd") if body.get("contentName") == self._audio_name:
                self.phase = "audio_ended"
            case ("prompt" | "audio_ended", "promptEnd"):
                if self.system_prompt is None:
                    raise ProtocolViolation("promptEnd before the SYSTEM content")
                self.phase = "prompt_ended"
            case ("prompt_ended", "sessionEnd"):
                if body:
                    raise ProtocolViolation("sessionEnd must be empty")
                self.phase = "ended"
            case _:
                raise ProtocolViolation(f"{name} is out of order (phase {self.phase})")

    def _session_start(self, body: dict[str, Any]) -> None:
        inference = body.get("inferenceConfiguration")
        if set(body) - {"inferenceConfiguration", "turnDetectionConfiguration"}:
            raise ProtocolViolation(f"sessionStart has unknown fields: {sorted(body)}")
        if not isinstance(inference, dict) or set(inference) != {
            "maxTokens",
            "topP",
            "temperature",
        }:
            raise ProtocolViolation(f"inferenceConfiguration is wrong: {inference}")
        if not isinstance(inference["maxTokens"], int) or inference["maxTokens"] <= 0:
            raise ProtocolViolation("maxTokens must be a positive integer")
        for key in ("topP", "temperature"):
            if not isinstance(inference[key], int | float) or not 0 <= inference[key] <= 1:
                raise ProtocolViolation(f"{key} must be a number in [0, 1]")
        if "turnDetectionConfiguration" in body:
            turn = body["turnDetectionConfiguration"]
            if (
                turn.get("endpointingSensitivity") not in ("HIGH", "MEDIUM", "LOW")
                or len(turn) != 1
            ):
                raise ProtocolViolation(f"turnDetectionConfiguration is wrong: {turn}")
        self.session_config = body
        self.phase = "session"

    def _prompt_start(self, body: dict[str, Any]) -> None:
        allowed = {
            "promptName",
            "textOutputConfiguration",
            "audioOutputConfiguration",
            "toolUseOutputConfiguration",
            "toolConfiguration",
        }
        if set(body) - allowed or not isinstance(body.get("promptName"), str):
            raise ProtocolViolation(f"promptStart fields are wrong: {sorted(body)}")
        if body.get("textOutputConfiguration") != TEXT_CONFIG:
            raise ProtocolViolation("textOutputConfiguration must be text/plain")
        if body.get("toolUseOutputConfiguration") != {"mediaType": "application/json"}:
            raise ProtocolViolation("toolUseOutputConfiguration must be application/json")
        audio = _audio_config(body.get("audioOutputConfiguration"), "audioOutput", {"voiceId"})
        if not isinstance(audio["voiceId"], str) or not audio["voiceId"]:
            raise ProtocolViolation("audioOutputConfiguration.voiceId missing")
        if "toolConfiguration" in body:
            tools = body["toolConfiguration"].get("tools")
            if not isinstance(tools, list) or not tools:
                raise ProtocolViolation("toolConfiguration.tools must be a non-empty list")
            for tool in tools:
                spec = tool.get("toolSpec") if set(tool) == {"toolSpec"} else None
                if not isinstance(spec, dict) or set(spec) != {
                    "name",
                    "description",
                    "inputSchema",
                }:
                    raise ProtocolViolation(f"tool entry is wrong: {tool}")
                schema = spec["inputSchema"]
                if set(schema) != {"json"} or not isinstance(schema["json"], str):
                    raise ProtocolViolation("inputSchema.json must be a JSON string")
                if not isinstance(json.loads(schema["json"]), dict):
                    raise ProtocolViolation("inputSchema.json must encode an object")
        self.prompt_name = body["promptName"]
        self.prompt_config = body
        self.phase = "prompt"

    def _content_start(self, body: dict[str, Any]) -> None:
        name = body.get("contentName")
        if not isinstance(name, str) or not name or name in self._names:
            raise ProtocolViolation(f"contentName {name!r} missing or reused")
        self._names.add(name)
        kind, role, interactive = body.get("type"), body.get("role"), body.get("interactive")
        configs = {
            "textInputConfiguration",
            "audioInputConfiguration",
            "toolResultInputConfiguration",
        } & set(body)
        base = {"promptName", "contentName", "type", "role", "interactive"}
        if len(configs) != 1 or set(body) != base | configs or not isinstance(interactive, bool):
            raise ProtocolViolation(f"contentStart needs exactly one input configuration: {body}")
        first = self.system_prompt is None
        if first and (kind, role, interactive) != ("TEXT", "SYSTEM", False):
            raise ProtocolViolation("the first content must be the non-interactive SYSTEM text")
        if kind == "AUDIO":
            if self.phase != "prompt" or (role, interactive) != ("USER", True):
                raise ProtocolViolation("one interactive USER AUDIO content per stream")
            config = _audio_config(body["audioInputConfiguration"], "audioInput", set())
            self.audio_rate = config["sampleRateHertz"]
            self._audio_name = name
            self.phase = "audio"
            return
        if kind == "TEXT":
            if body.get("textInputConfiguration") != TEXT_CONFIG:
                raise ProtocolViolation("textInputConfiguration must be text/plain")
            if self.phase == "audio" and (role, interactive) != ("USER", True):
                raise ProtocolViolation("after audio starts only interactive USER text is allowed")
            if self.phase == "prompt" and not first:
                if role not in ("USER", "ASSISTANT") or interactive:
                    raise ProtocolViolation(
                        f"history must be non-interactive USER/ASSISTANT: {body}"
                    )
                if not self.history and role != "USER":
                    raise ProtocolViolation("history must start with a USER turn")
        elif kind == "TOOL":
            config = body["toolResultInputConfiguration"]
            expect = {"toolUseId", "type", "textInputConfiguration"}
            if self.phase != "audio" or (role, interactive) != ("TOOL", False):
                raise ProtocolViolation("tool results are non-interactive TOOL contents mid-call")
            if set(config) != expect or config["type"] != "TEXT":
                raise ProtocolViolation(f"toolResultInputConfiguration is wrong: {config}")
            if config["textInputConfiguration"] != TEXT_CONFIG:
                raise ProtocolViolation("tool result textInputConfiguration must be text/plain")
            if config["toolUseId"] not in self._answerable:
                raise ProtocolViolation(f"no answerable toolUse {config['toolUseId']!r}")
            self._answerable.discard(config["toolUseId"])
        else:
            raise ProtocolViolation(f"unknown content type {kind!r}")
        self._open = {**body, "parts": []}

    def _inside_content(self, name: str, body: dict[str, Any]) -> None:
        content = self._open
        assert content is not None
        if body.get("contentName") != content["contentName"]:
            raise ProtocolViolation(f"{name} interleaved inside content {content['contentName']}")
        expected = "toolResult" if content["type"] == "TOOL" else "textInput"
        if name == expected:
            if set(body) != {"promptName", "contentName", "content"}:
                raise ProtocolViolation(f"{name} fields are wrong: {sorted(body)}")
            if not isinstance(body["content"], str) or not body["content"]:
                raise ProtocolViolation(f"{name} content must be a non-empty string")
            content["parts"].append(body["content"])
            return
        if name != "contentEnd" or not content["parts"]:
            raise ProtocolViolation(f"{name} inside an open {content['type']} content")
        self._open = None
        text = "".join(content["parts"])
        if content["type"] == "TOOL":
            try:
                result = json.loads(text)
            except ValueError:
                raise ProtocolViolation("toolResult content must be a JSON string") from None
            self.tool_results.append((content["toolResultInputConfiguration"]["toolUseId"], result))
        elif content["role"] == "SYSTEM":
            self.system_prompt = text
        elif self.phase == "audio":
            self.texts.append(text)
        else:
            size = len(text.encode())
            self._history_bytes += size
            if size > MAX_HISTORY_MESSAGE or self._history_bytes > MAX_HISTORY_TOTAL:
                raise ProtocolViolation("history over 50 KB a message or 200 KB in total")
            self.history.append((content["role"], text))

    def _audio_input(self, body: dict[str, Any]) -> None:
        if set(body) != {"promptName", "contentName", "content"}:
            raise ProtocolViolation(f"audioInput fields are wrong: {sorted(body)}")
        if body["contentName"] != self._audio_name:
            raise ProtocolViolation("audioInput for a content that is not the audio content")
        if self._short_chunk:
            raise ProtocolViolation("a chunk under 20 ms may only be the last one")
        try:
            pcm = base64.b64decode(body["content"], validate=True)
        except (binascii.Error, TypeError):
            raise ProtocolViolation("audioInput content is not base64") from None
        ms = len(pcm) / 2 / self.audio_rate * 1000
        if not pcm or len(pcm) % 2 or ms > 32.0 + 1e-9:
            raise ProtocolViolation(f"audioInput chunk of {len(pcm)} bytes ({ms:.1f} ms)")
        self._short_chunk = ms < 20.0
        self.audio += pcm
        self.audio_chunks += 1

    # Scripting the model's side ---------------------------------------------------------

    def emit(self, name: str, body: dict[str, Any]) -> None:
        full = {"promptName": self.prompt_name, "completionId": self._completion, **body}
        self._out.put_nowait(json.dumps({"event": {name: full}}).encode())

    def emit_raw(self, raw: bytes) -> None:
        self._out.put_nowait(raw)

    def fail(self, error: BaseException) -> None:
        """The next receive raises (a service exception surfaced on the output stream)."""
        self._out.put_nowait(error)

    def end(self) -> None:
        """The service closes the stream cleanly."""
        self._out.put_nowait(None)

    def _text(self, role: str, stage: str, text: str, stop: str) -> None:
        content = str(uuid.uuid4())
        fields = json.dumps({"generationStage": stage})
        self.emit(
            "contentStart",
            {"contentId": content, "type": "TEXT", "role": role, "additionalModelFields": fields},
        )
        self.emit("textOutput", {"contentId": content, "role": role, "content": text})
        self.emit("contentEnd", {"contentId": content, "type": "TEXT", "stopReason": stop})

    def caller_says(self, text: str) -> None:
        self._text("USER", "FINAL", text, "END_TURN")

    def assistant_starts(self, text: str, audio: bytes = b"", chunk: int = 640) -> None:
        """Speculative text, then an AUDIO content left open (the model keeps talking)."""
        self._text("ASSISTANT", "SPECULATIVE", text, "PARTIAL_TURN")
        self._speaking = str(uuid.uuid4())
        self.emit(
            "contentStart", {"contentId": self._speaking, "type": "AUDIO", "role": "ASSISTANT"}
        )
        self.assistant_audio(audio, chunk)

    def assistant_audio(self, audio: bytes, chunk: int = 640) -> None:
        for start in range(0, len(audio), chunk):
            piece = base64.b64encode(audio[start : start + chunk]).decode()
            self.emit("audioOutput", {"contentId": self._speaking, "content": piece})

    def assistant_finishes(self, text: str, end_turn: bool = True) -> None:
        stop = "END_TURN" if end_turn else "PARTIAL_TURN"
        if self._speaking is not None:
            self.emit(
                "contentEnd", {"contentId": self._speaking, "type": "AUDIO", "stopReason": stop}
            )
            self._speaking = None
        self._text("ASSISTANT", "FINAL", text, stop)

    def assistant_says(self, text: str, audio: bytes = b"", chunk: int = 640) -> None:
        self.assistant_starts(text, audio, chunk)
        self.assistant_finishes(text)

    def interrupt(self, heard: str = "") -> None:
        """Barge-in as Nova 2 reports it: the audio content ends, then a TEXT INTERRUPTED."""
        if self._speaking is not None:
            audio_end = {"contentId": self._speaking, "type": "AUDIO", "stopReason": "END_TURN"}
            self.emit("contentEnd", audio_end)
            self._speaking = None
        self._text("ASSISTANT", "FINAL", heard or "...", "INTERRUPTED")

    def interrupt_v1(self) -> None:
        """Nova Sonic v1's barge-in: {"interrupted": true} inside an assistant textOutput."""
        self._text("ASSISTANT", "FINAL", '{ "interrupted" : true }', "PARTIAL_TURN")

    def tool_use(self, name: str, arguments: dict[str, Any] | str, tool_use_id: str = "") -> str:
        tool_use_id = tool_use_id or f"tooluse-{uuid.uuid4().hex[:12]}"
        content = str(uuid.uuid4())
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        self.tool_uses[tool_use_id] = name
        self._answerable.add(tool_use_id)
        self.emit("contentStart", {"contentId": content, "type": "TOOL", "role": "TOOL"})
        self.emit(
            "toolUse",
            {"contentId": content, "toolName": name, "toolUseId": tool_use_id, "content": raw},
        )
        self.emit("contentEnd", {"contentId": content, "type": "TOOL", "stopReason": "TOOL_USE"})
        return tool_use_id

    def usage(self, input_tokens: tuple[int, int], output_tokens: tuple[int, int]) -> None:
        """usageEvent with (speech, text) token deltas and running totals."""
        self._totals[0] += sum(input_tokens)
        self._totals[1] += sum(output_tokens)
        delta = {
            "input": {"speechTokens": input_tokens[0], "textTokens": input_tokens[1]},
            "output": {"speechTokens": output_tokens[0], "textTokens": output_tokens[1]},
        }
        self.emit(
            "usageEvent",
            {
                "details": {"delta": delta, "total": delta},
                "totalInputTokens": self._totals[0],
                "totalOutputTokens": self._totals[1],
                "totalTokens": sum(self._totals),
            },
        )


class NovaDouble:
    """The transport factory: each call opens a new scripted stream."""

    def __init__(
        self, clock: Callable[[], float] | None = None, limit_seconds: float = 480.0
    ) -> None:
        self.clock = clock
        self.limit_seconds = limit_seconds
        self.streams: list[NovaDoubleStream] = []
        self.violations: list[str] = []
        self.open_failures: list[BaseException] = []
        self.on_open: Callable[[NovaDoubleStream], None] | None = None
        self.on_event: Callable[[NovaDoubleStream, str, dict[str, Any]], None] | None = None

    async def __call__(self) -> NovaDoubleStream:
        if self.open_failures:
            raise self.open_failures.pop(0)
        stream = NovaDoubleStream(self, len(self.streams) + 1)
        self.streams.append(stream)
        if self.on_open is not None:
            self.on_open(stream)
        return stream

    @property
    def latest(self) -> NovaDoubleStream:
        return self.streams[-1]

    def live(self) -> list[NovaDoubleStream]:
        """Streams whose caller audio content is open right now."""
        return [stream for stream in self.streams if stream.phase == "audio" and not stream.closed]


def throttled(message: str = "Too many requests") -> NovaStreamError:
    return NovaStreamError("throttling", message, retryable=True)


class FakeClock:
    """A clock the test moves by hand: a 20-minute call runs in a few seconds."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class EventLog:
    """Collects an engine session's events in the background, as the pipeline would."""

    def __init__(self, session: Any) -> None:
        self.events: list[Any] = []
        self.finished = False
        self._changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._collect(session))

    async def _collect(self, session: Any) -> None:
        async for event in session.events():
            self.events.append(event)
            self._changed.set()
        self.finished = True
        self._changed.set()

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def settle(rounds: int = 20) -> None:
    """Let every ready task run (the double answers instantly)."""
    for _ in range(rounds):
        await asyncio.sleep(0)

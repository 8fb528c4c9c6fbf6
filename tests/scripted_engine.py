"""A scripted SpeechEngine for tests: deterministic, instant, and faithful to the seam.

Typed text or a burst of caller audio (loud samples, then silence) becomes a caller turn; the
engine asks the `ask_agent` tool and speaks the answer as a tone whose length follows the text.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

from pipeline.engines.base import (
    AgentAudio,
    AgentTranscript,
    CallerTranscript,
    EngineConfig,
    EngineEvent,
    ToolUse,
    TurnEnd,
)


def tone(ms: int, rate: int, freq: float = 440.0) -> bytes:
    count = rate * ms // 1000
    return struct.pack(
        f"<{count}h", *(int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(count))
    )


class ScriptedSession:
    def __init__(self, config: EngineConfig, utterances: list[str]) -> None:
        self.config = config
        self.utterances = list(utterances)
        self.audio_bytes = 0
        self._loud = 0
        self._events: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._results: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._turns = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        if config.greeting:
            self._speak(config.greeting)

    def send_audio(self, pcm: bytes) -> None:
        self.audio_bytes += len(pcm)
        peak = max(abs(s) for (s,) in struct.iter_unpack("<h", pcm)) if pcm else 0
        if peak > 1000:
            self._loud += 1
        elif self._loud >= 5 and self.utterances:
            self._loud = 0
            self._tasks.add(asyncio.ensure_future(self.send_text(self.utterances.pop(0))))

    async def send_text(self, text: str) -> None:
        self._events.put_nowait(CallerTranscript(text))
        self._turns += 1
        call_id = f"tool-{self._turns}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._results[call_id] = future
        self._events.put_nowait(ToolUse(call_id, "ask_agent", {"question": text}))
        result = await future
        if "answer" in result:
            self._speak(str(result["answer"]))

    async def send_tool_result(self, tool_use_id: str, result: dict[str, Any]) -> None:
        self._results.pop(tool_use_id).set_result(result)

    def _speak(self, text: str) -> None:
        self._events.put_nowait(AgentTranscript(text))
        audio = tone(min(40 * len(text.split()), 2000), self.config.output_rate)
        step = self.config.output_rate // 50 * 2
        for start in range(0, len(audio), step):
            self._events.put_nowait(AgentAudio(audio[start : start + step]))
        self._events.put_nowait(TurnEnd())

    async def events(self) -> AsyncIterator[EngineEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._events.put_nowait(None)


class ScriptedEngine:
    name = "scripted"

    def __init__(self, utterances: list[str] | None = None) -> None:
        self.utterances = utterances or []
        self.sessions: list[ScriptedSession] = []
        self.fail_open = False

    async def open(self, config: EngineConfig) -> ScriptedSession:
        if self.fail_open:
            raise RuntimeError("scripted engine refused to open")
        session = ScriptedSession(config, self.utterances)
        self.sessions.append(session)
        return session

    async def check(self) -> None:
        return None

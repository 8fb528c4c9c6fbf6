"""What a Nova Sonic session holds on to: caller audio, the conversation, events to hand on."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable

from pipeline.engines import nova_protocol as proto
from pipeline.engines.base import AgentAudio, EngineEvent, HistoryTurn
from pipeline.engines.nova_tuning import NovaTuning


class CallerAudio:
    """A bounded queue of caller PCM16 cut into 20-32 ms chunks, plus the last few seconds
    already sent, kept to replay into the next stream when the call moves to one."""

    def __init__(self, rate: int, tuning: NovaTuning) -> None:
        bytes_per_ms = rate * 2 // 1000
        self.chunk_min = tuning.chunk_min_ms * bytes_per_ms
        self.chunk_max = tuning.chunk_max_ms * bytes_per_ms
        self.queue_max = int(tuning.max_queued_seconds * 1000) * bytes_per_ms
        self.replay_max = int(tuning.replay_seconds * 1000) * bytes_per_ms
        self.pending = bytearray()
        self._recent: deque[bytes] = deque()
        self._recent_bytes = 0
        self.bytes_in = 0
        self.bytes_dropped = 0

    def push(self, pcm: bytes) -> bool:
        """Queue caller audio (oldest dropped past the bound); True once a chunk is ready."""
        self.bytes_in += len(pcm)
        self.pending += pcm
        overflow = len(self.pending) - self.queue_max
        if overflow > 0:
            overflow += overflow & 1
            del self.pending[:overflow]
            self.bytes_dropped += overflow
        return len(self.pending) >= self.chunk_min

    @property
    def ready(self) -> bool:
        return len(self.pending) >= self.chunk_min

    def take(self) -> bytes:
        """The next chunk, remembered for replay before it is sent."""
        size = min(len(self.pending), self.chunk_max) & ~1
        chunk = bytes(self.pending[:size])
        del self.pending[:size]
        self._recent.append(chunk)
        self._recent_bytes += size
        while self._recent_bytes > self.replay_max and len(self._recent) > 1:
            self._recent_bytes -= len(self._recent.popleft())
        return chunk

    def drain(self) -> list[bytes]:
        """Everything still queued, in chunks (the last one may be short): call end."""
        tail = bytes(self.pending[: len(self.pending) & ~1])
        self.pending.clear()
        step = self.chunk_max
        return [tail[start : start + step] for start in range(0, len(tail), step)]

    def recent(self) -> list[bytes]:
        """The last seconds already sent, to replay into a fresh stream."""
        return list(self._recent)


class Conversation:
    """The finished turns of the call, replayed as history into every fresh stream."""

    def __init__(self, turns: Iterable[HistoryTurn], tuning: NovaTuning) -> None:
        self.turns = list(turns)
        self._bytes = sum(len(turn.text.encode()) for turn in self.turns)
        self._message_cap = tuning.max_history_message_bytes
        self._total_cap = tuning.max_history_total_bytes

    def add(self, role: str, text: str) -> None:
        turn = HistoryTurn("caller" if role == "caller" else "agent", text.strip())
        if not turn.text:
            return
        if self.turns and self.turns[-1].role == turn.role:
            last = self.turns[-1]
            self.turns[-1] = HistoryTurn(turn.role, f"{last.text} {turn.text}")
        else:
            self.turns.append(turn)
        self._bytes += len(turn.text.encode()) + 1
        while self._bytes > 4 * self._total_cap and len(self.turns) > 1:
            self._bytes -= len(self.turns.pop(0).text.encode())  # beyond any replay's reach

    def replay(self) -> list[HistoryTurn]:
        """History as Nova accepts it: caller first, within the size caps."""
        return proto.prepare_history(self.turns, self._message_cap, self._total_cap)


class EventQueue:
    """Engine events waiting for the pipeline; None marks the end of the session."""

    def __init__(self) -> None:
        self._events: deque[EngineEvent | None] = deque()
        self._ready = asyncio.Event()

    def put(self, event: EngineEvent | None) -> None:
        self._events.append(event)
        self._ready.set()

    def drop_audio(self) -> None:
        """Barge-in: assistant audio not yet handed to the pipeline will never be played."""
        if any(type(event) is AgentAudio for event in self._events):
            self._events = deque(e for e in self._events if type(e) is not AgentAudio)

    async def drain(self) -> AsyncIterator[EngineEvent]:
        while True:
            if not self._events:
                self._ready.clear()
                await self._ready.wait()
                continue
            event = self._events.popleft()
            if event is None:
                self._events.appendleft(None)
                return
            yield event

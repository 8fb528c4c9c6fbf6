"""Timing and limits of a Nova Sonic session, and the clock that measures them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Protocol

from pipeline.engines import nova_protocol as proto


class Clock(Protocol):
    """Time as the session sees it (tests pass a fake one to simulate long calls)."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class NovaTuning:
    """Timings and limits of a Nova session; the defaults follow AWS's continuation sample."""

    stream_limit_seconds: float = 480.0
    switch_after_seconds: float = 360.0
    preopen_lead_seconds: float = 60.0
    force_margin_seconds: float = 20.0
    next_stream_max_idle_seconds: float = 30.0
    preopen_backoff_seconds: float = 5.0
    replay_seconds: float = 3.0
    max_queued_seconds: float = 30.0
    chunk_min_ms: int = 20
    chunk_max_ms: int = 32
    open_timeout_seconds: float = 3.0
    retry_delays: tuple[float, ...] = (0.2, 0.5)
    max_recoveries: int = 3
    recovery_window_seconds: float = 60.0
    close_timeout_seconds: float = 2.0
    max_history_message_bytes: int = proto.MAX_HISTORY_MESSAGE_BYTES
    max_history_total_bytes: int = proto.MAX_HISTORY_TOTAL_BYTES
    inference: proto.Inference = field(default_factory=proto.Inference)

    def __post_init__(self) -> None:
        if not 0 < self.switch_after_seconds < self.force_at:
            raise ValueError(
                "switch_after_seconds must be positive and below "
                f"stream_limit_seconds - {self.force_margin_seconds:g}"
            )
        if not 0 < self.chunk_min_ms <= self.chunk_max_ms <= 32:
            raise ValueError("audio chunks must be 1-32 ms, chunk_min_ms <= chunk_max_ms")

    @property
    def force_at(self) -> float:
        """Stream age at which the switch happens mid-turn (unless a tool call is out)."""
        return self.stream_limit_seconds - self.force_margin_seconds

    @property
    def hard_force_at(self) -> float:
        """Stream age at which the switch happens whatever is going on."""
        return self.stream_limit_seconds - self.force_margin_seconds / 4

    @property
    def preopen_at(self) -> float:
        """Stream age at which the next stream is opened even if the assistant never spoke."""
        return max(self.switch_after_seconds, self.stream_limit_seconds - self.preopen_lead_seconds)

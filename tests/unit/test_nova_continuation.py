"""Calls longer than one Nova stream: continuation without losing caller audio or turns.

A fake clock drives simulated calls; the double fails any stream used past its 480 s limit.
"""

from __future__ import annotations

import numpy as np

from pipeline.engines.base import (
    AgentTranscript,
    CallerTranscript,
    EngineConfig,
    EngineError,
    HistoryTurn,
    TurnEnd,
)
from pipeline.engines.nova_sonic import NovaSonicEngine
from pipeline.engines.nova_tuning import NovaTuning
from tests.nova_double import EventLog, FakeClock, NovaDouble, NovaDoubleStream, settle

RATE = 8000
FRAME_BYTES = RATE * 20 // 1000 * 2  # 20 ms of PCM16


def caller_audio(seconds: float) -> bytes:
    """Sample n carries n mod 65536: any slice of the call can be located exactly."""
    count = int(seconds * RATE)
    return ((np.arange(count) % 65536) - 32768).astype("<i2").tobytes()


def check_coverage(pcm: bytes, streams: list[NovaDoubleStream], replay_bytes: int) -> None:
    """Each stream got one contiguous slice of the caller audio; together they cover all of it."""
    covered = 0
    for stream in streams:
        audio = bytes(stream.audio)
        if not audio:
            continue
        low = max(0, covered - replay_bytes - FRAME_BYTES)
        start = pcm.find(audio[:64], low, covered + 64)
        assert start != -1, f"stream {stream.number} audio does not continue the call"
        assert start <= covered, f"gap of {covered - start} bytes before stream {stream.number}"
        assert covered - start <= replay_bytes, "replayed more than the replay window"
        assert pcm[start : start + len(audio)] == audio, f"stream {stream.number} audio corrupted"
        covered = start + len(audio)
    assert covered == len(pcm), f"{len(pcm) - covered} bytes of caller audio never sent"


def speaking_stream(double: NovaDouble) -> NovaDoubleStream:
    return double.live()[-1]


async def run_call(
    engine: NovaSonicEngine,
    double: NovaDouble,
    clock: FakeClock,
    seconds: float,
    turn_every: float | None,
) -> tuple[bytes, EventLog, int]:
    """Feed `seconds` of caller audio in real-time frames; a turn every `turn_every` seconds."""
    session = await engine.open(
        EngineConfig(system_prompt="You answer calls for Acme.", input_rate=RATE, output_rate=RATE)
    )
    log = EventLog(session)
    pcm = caller_audio(seconds)
    turns = 0
    frames_per_turn = int(turn_every * 50) if turn_every else 0
    for index, start in enumerate(range(0, len(pcm), FRAME_BYTES)):
        clock.advance(0.02)
        session.send_audio(pcm[start : start + FRAME_BYTES])
        if frames_per_turn and index % frames_per_turn == frames_per_turn // 2:
            stream = speaking_stream(double)
            stream.caller_says(f"caller turn {turns}")
            stream.assistant_says(f"agent turn {turns}", audio=b"\x10\x00" * 1600)
            turns += 1
        await settle(2)
    await settle()
    await session.close()
    await settle()
    await log.stop()
    assert session.audio_bytes_dropped == 0
    return pcm, log, turns


async def test_twenty_minute_call_crosses_stream_switches_without_loss() -> None:
    clock = FakeClock()
    double = NovaDouble(clock=clock.now, limit_seconds=480)
    engine = NovaSonicEngine("us-east-1", transport_factory=double, clock=clock)
    pcm, log, turns = await run_call(engine, double, clock, 20 * 60, turn_every=30)

    assert double.violations == []
    assert len(double.streams) >= 3  # at least two switches
    assert all(stream.phase == "ended" for stream in double.streams)
    check_coverage(pcm, double.streams, replay_bytes=3 * RATE * 2)

    # Every turn reached the pipeline exactly once, in order.
    finals = [e.text for e in log.of(CallerTranscript) if e.final]
    assert finals == [f"caller turn {n}" for n in range(turns)]
    spoken = [e.text for e in log.of(AgentTranscript) if e.final]
    assert spoken == [f"agent turn {n}" for n in range(turns)]
    assert len(log.of(TurnEnd)) == turns

    # Each new stream was primed with the whole conversation so far, caller first.
    for stream in double.streams[1:]:
        assert stream.history, "a continued stream starts without context"
        assert stream.history[0] == ("USER", "caller turn 0")
        done = len(stream.history) // 2
        expected = []
        for n in range(done):
            expected += [("USER", f"caller turn {n}"), ("ASSISTANT", f"agent turn {n}")]
        assert stream.history == expected
        assert stream.system_prompt == "You answer calls for Acme."


async def test_a_silent_caller_still_switches_before_the_limit() -> None:
    clock = FakeClock()
    double = NovaDouble(clock=clock.now, limit_seconds=48)
    tuning = NovaTuning(
        stream_limit_seconds=48,
        switch_after_seconds=36,
        preopen_lead_seconds=6,
        force_margin_seconds=2,
        next_stream_max_idle_seconds=3,
    )
    engine = NovaSonicEngine("us-east-1", transport_factory=double, clock=clock, tuning=tuning)
    pcm, log, _ = await run_call(engine, double, clock, 150, turn_every=None)
    assert double.violations == []
    assert len(double.streams) >= 4
    check_coverage(pcm, double.streams, replay_bytes=3 * RATE * 2)
    assert log.of(CallerTranscript) == []


async def test_an_assistant_that_never_stops_is_switched_before_the_limit() -> None:
    clock = FakeClock()
    double = NovaDouble(clock=clock.now, limit_seconds=48)
    tuning = NovaTuning(stream_limit_seconds=48, switch_after_seconds=36, force_margin_seconds=2)
    engine = NovaSonicEngine("us-east-1", transport_factory=double, clock=clock, tuning=tuning)
    session = await engine.open(
        EngineConfig(
            system_prompt="s",
            input_rate=RATE,
            output_rate=RATE,
            history=(HistoryTurn("caller", "Tell me everything."),),
        )
    )
    pcm = caller_audio(60)
    for index, start in enumerate(range(0, len(pcm), FRAME_BYTES)):
        clock.advance(0.02)
        session.send_audio(pcm[start : start + FRAME_BYTES])
        if index == 50 * 37:  # the assistant starts a monologue it never finishes
            speaking_stream(double).assistant_starts("Once upon a time", audio=b"\x01\x00" * 800)
        await settle(2)
    await settle()
    await session.close()
    assert double.violations == []
    assert len(double.streams) == 2
    assert session.switches == 1
    check_coverage(pcm, double.streams, replay_bytes=3 * RATE * 2)
    assert double.streams[1].history == [("USER", "Tell me everything.")]


async def test_recovery_mid_call_keeps_every_frame() -> None:
    clock = FakeClock()
    double = NovaDouble(clock=clock.now)
    engine = NovaSonicEngine("us-east-1", transport_factory=double, clock=clock)
    session = await engine.open(EngineConfig(system_prompt="s", input_rate=RATE, output_rate=RATE))
    log = EventLog(session)
    pcm = caller_audio(30)
    for index, start in enumerate(range(0, len(pcm), FRAME_BYTES)):
        clock.advance(0.02)
        session.send_audio(pcm[start : start + FRAME_BYTES])
        if index == 500:
            from pipeline.engines.nova_protocol import NovaStreamError

            double.latest.fail(NovaStreamError("model_timeout", "timed out", retryable=True))
        await settle(2)
    await settle()
    await session.close()
    await log.stop()
    assert double.violations == []
    assert len(double.streams) == 2 and session.recoveries == 1
    check_coverage(pcm, double.streams, replay_bytes=3 * RATE * 2)


async def test_a_pre_opened_stream_that_fails_is_replaced_before_the_limit() -> None:
    from pipeline.engines.nova_protocol import NovaStreamError

    clock = FakeClock()
    double = NovaDouble(clock=clock.now, limit_seconds=48)
    tuning = NovaTuning(
        stream_limit_seconds=48,
        switch_after_seconds=36,
        preopen_lead_seconds=10,
        force_margin_seconds=2,
        preopen_backoff_seconds=1,
    )
    failures = iter([True])

    def sabotage(stream: NovaDoubleStream) -> None:
        if stream.number == 2 and next(failures, False):
            stream.fail(NovaStreamError("internal_server", "pre-open broke", retryable=True))

    double.on_open = sabotage
    engine = NovaSonicEngine("us-east-1", transport_factory=double, clock=clock, tuning=tuning)
    pcm, log, _ = await run_call(engine, double, clock, 60, turn_every=None)
    assert double.violations == []
    assert double.streams[1].phase != "audio" and not double.streams[1].audio
    assert len(double.streams) == 3
    check_coverage(pcm, double.streams, replay_bytes=3 * RATE * 2)
    assert log.of(EngineError) == []  # the caller never noticed


async def test_switch_waits_for_an_outstanding_tool_answer() -> None:
    clock = FakeClock()
    double = NovaDouble(clock=clock.now, limit_seconds=48)
    tuning = NovaTuning(stream_limit_seconds=48, switch_after_seconds=36, force_margin_seconds=8)
    engine = NovaSonicEngine("us-east-1", transport_factory=double, clock=clock, tuning=tuning)
    session = await engine.open(EngineConfig(system_prompt="s", input_rate=RATE, output_rate=RATE))
    log = EventLog(session)
    pcm = caller_audio(47)
    tool_id = ""
    for index, start in enumerate(range(0, len(pcm), FRAME_BYTES)):
        clock.advance(0.02)
        session.send_audio(pcm[start : start + FRAME_BYTES])
        if index == 50 * 35:  # a slow tool call straddles pre-open (36 s) and force (40 s)
            double.latest.caller_says("Check my order")
            tool_id = double.latest.tool_use("ask_agent", {"question": "order status"})
        if index == 50 * 43:
            assert len(double.live()) == 1 and double.live()[0].number == 1
            await session.send_tool_result(tool_id, {"answer": "shipped"})
        await settle(2)
    await settle()
    await session.close()
    await log.stop()
    assert double.violations == []
    assert double.streams[0].tool_results == [(tool_id, {"answer": "shipped"})]
    assert double.streams[1].history == [("USER", "Check my order")]
    assert session.switches == 1
    check_coverage(pcm, double.streams, replay_bytes=3 * RATE * 2)

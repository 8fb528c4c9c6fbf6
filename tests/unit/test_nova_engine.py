"""The Nova Sonic engine against the protocol double: order, fields, turns, tools, faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipeline.engines.base import (
    AgentAudio,
    AgentTranscript,
    CallerTranscript,
    EngineConfig,
    EngineError,
    HistoryTurn,
    Interrupted,
    ToolSpec,
    ToolUse,
    TurnEnd,
    Usage,
)
from pipeline.engines.nova_protocol import NovaStreamError
from pipeline.engines.nova_session import NovaSonicSession
from pipeline.engines.nova_sonic import NovaSonicEngine
from pipeline.engines.nova_tuning import NovaTuning
from tests.nova_double import EventLog, FakeClock, NovaDouble, ProtocolViolation, settle

SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}},
    "required": ["question"],
}
TOOLS = (
    ToolSpec("ask_agent", "Ask the business agent a question", SCHEMA),
    ToolSpec("transfer_to_human", "Hand the call to a person", {"type": "object"}),
)


def config(**overrides: Any) -> EngineConfig:
    values: dict[str, Any] = {
        "system_prompt": "You answer calls for Acme.",
        "voice": "matthew",
        "input_rate": 8000,
        "output_rate": 8000,
        "tools": TOOLS,
        "endpointing": "HIGH",
    }
    values.update(overrides)
    return EngineConfig(**values)


def frame(index: int, ms: int = 20, rate: int = 8000) -> bytes:
    return bytes([index % 251, index % 13]) * (rate * ms // 1000)


@pytest.fixture
def double() -> NovaDouble:
    return NovaDouble()


@pytest.fixture
def engine(double: NovaDouble) -> NovaSonicEngine:
    return NovaSonicEngine("us-east-1", transport_factory=double, clock=FakeClock())


@pytest.fixture
async def call(
    engine: NovaSonicEngine, double: NovaDouble
) -> AsyncIterator[tuple[NovaSonicSession, EventLog]]:
    session = await engine.open(config())
    log = EventLog(session)
    yield session, log
    await session.close()
    await log.stop()
    assert double.violations == []


async def test_open_sends_the_documented_event_order_and_fields(double: NovaDouble) -> None:
    engine = NovaSonicEngine("us-east-1", transport_factory=double)
    history = (
        HistoryTurn("agent", "Thanks for calling Acme."),  # dropped: history must open with USER
        HistoryTurn("caller", "Where is my parcel?"),
        HistoryTurn("agent", "It ships today."),
    )
    session = await engine.open(config(input_rate=8000, output_rate=24000, history=history))
    stream = double.latest
    names = [name for name, _ in stream.events]
    assert names == [
        "sessionStart",
        "promptStart",
        "contentStart",
        "textInput",
        "contentEnd",  # SYSTEM
        "contentStart",
        "textInput",
        "contentEnd",  # history: USER
        "contentStart",
        "textInput",
        "contentEnd",  # history: ASSISTANT
        "contentStart",  # the caller's audio content
    ]
    assert stream.session_config == {
        "inferenceConfiguration": {"maxTokens": 1024, "topP": 0.9, "temperature": 0.7},
        "turnDetectionConfiguration": {"endpointingSensitivity": "HIGH"},
    }
    prompt = stream.prompt_config
    assert prompt["audioOutputConfiguration"]["voiceId"] == "matthew"
    assert prompt["audioOutputConfiguration"]["sampleRateHertz"] == 24000
    tools = prompt["toolConfiguration"]["tools"]
    assert [tool["toolSpec"]["name"] for tool in tools] == ["ask_agent", "transfer_to_human"]
    assert json.loads(tools[0]["toolSpec"]["inputSchema"]["json"]) == SCHEMA
    assert stream.system_prompt == "You answer calls for Acme."
    assert stream.history == [("USER", "Where is my parcel?"), ("ASSISTANT", "It ships today.")]
    audio_start = stream.events[-1][1]
    assert audio_start["audioInputConfiguration"]["sampleRateHertz"] == 8000
    assert (audio_start["type"], audio_start["role"], audio_start["interactive"]) == (
        "AUDIO",
        "USER",
        True,
    )
    assert stream.phase == "audio"

    await session.close()
    await session.close()  # idempotent
    assert [name for name, _ in stream.events[-3:]] == ["contentEnd", "promptEnd", "sessionEnd"]
    assert stream.phase == "ended" and stream.closed
    assert double.violations == []


@pytest.mark.parametrize(("field", "rate"), [("input_rate", 44100), ("output_rate", 22050)])
async def test_unsupported_rates_fail_before_any_stream(
    double: NovaDouble, field: str, rate: int
) -> None:
    engine = NovaSonicEngine("us-east-1", transport_factory=double)
    with pytest.raises(ValueError, match="8000, 16000 or 24000"):
        await engine.open(config(**{field: rate}))
    assert double.streams == []


async def test_caller_audio_arrives_whole_in_20_to_32_ms_chunks(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    session, _ = call
    sent = bytearray()
    for index in range(200):
        pcm = frame(index, ms=10 if index % 3 else 30)  # uneven browser-like frames
        sent += pcm
        session.send_audio(pcm)
        if index % 7 == 0:
            await settle(3)
    await settle()
    stream = double.latest
    await session.close()
    assert bytes(stream.audio) == bytes(sent)
    assert stream.audio_chunks >= len(sent) // 512


async def test_send_audio_never_blocks_and_its_queue_is_bounded(double: NovaDouble) -> None:
    tuning = NovaTuning(max_queued_seconds=1.0)
    engine = NovaSonicEngine("us-east-1", transport_factory=double, tuning=tuning)
    session = await engine.open(config())
    gate = asyncio.Event()
    stream = double.latest
    original = stream.send

    async def stalled(event: bytes) -> None:
        await gate.wait()
        await original(event)

    stream.send = stalled  # type: ignore[method-assign]
    started = time.perf_counter()
    for index in range(500):  # 10 s of audio while the network is stuck
        session.send_audio(frame(index))
    assert time.perf_counter() - started < 0.5
    await settle()
    assert session.audio_bytes_dropped > 0
    assert session.audio_bytes_queued <= 8000 * 2  # one second, as configured
    gate.set()
    await session.close()
    assert double.violations == []


async def test_transcripts_audio_and_turn_end(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    session, log = call
    stream = double.latest
    stream.caller_says("Where is my parcel?")
    speech = bytes(range(200)) * 16
    stream.assistant_says("It ships today.", audio=speech, chunk=320)
    await log.wait_for(lambda: bool(log.of(TurnEnd)))
    await settle()
    assert log.of(CallerTranscript) == [CallerTranscript("Where is my parcel?", True)]
    assert log.of(AgentTranscript) == [
        AgentTranscript("It ships today.", False),
        AgentTranscript("It ships today.", True),
    ]
    assert b"".join(event.pcm for event in log.of(AgentAudio)) == speech
    assert len(log.of(TurnEnd)) == 1  # both the AUDIO and the FINAL TEXT said END_TURN
    assert session.history == (
        HistoryTurn("caller", "Where is my parcel?"),
        HistoryTurn("agent", "It ships today."),
    )


async def test_tool_round_trip(call: tuple[NovaSonicSession, EventLog], double: NovaDouble) -> None:
    session, log = call
    stream = double.latest
    tool_id = stream.tool_use("ask_agent", {"question": "What are your hours?"})
    await log.wait_for(lambda: bool(log.of(ToolUse)))
    assert log.of(ToolUse) == [ToolUse(tool_id, "ask_agent", {"question": "What are your hours?"})]
    await session.send_tool_result(tool_id, {"answer": "9 to 5, Monday to Friday"})
    assert stream.tool_results == [(tool_id, {"answer": "9 to 5, Monday to Friday"})]
    start = next(
        body
        for name, body in stream.events
        if name == "contentStart" and body.get("type") == "TOOL"
    )
    assert start["role"] == "TOOL" and start["interactive"] is False
    assert start["toolResultInputConfiguration"]["toolUseId"] == tool_id
    result_event = next(body for name, body in stream.events if name == "toolResult")
    assert isinstance(result_event["content"], str)


async def test_tool_use_with_bad_arguments_is_answered_with_an_error(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    _, log = call
    stream = double.latest
    bad = stream.tool_use("ask_agent", "{not json")
    listy = stream.tool_use("ask_agent", "[1, 2]")
    await log.wait_for(lambda: len(log.of(EngineError)) == 2)
    await settle()
    assert log.of(ToolUse) == []
    assert all(
        error.recoverable and error.kind == "tool_arguments" for error in log.of(EngineError)
    )
    assert [tool_id for tool_id, _ in stream.tool_results] == [bad, listy]
    assert all("error" in result for _, result in stream.tool_results)


async def test_barge_in_drops_queued_audio_and_emits_interrupted(
    engine: NovaSonicEngine, double: NovaDouble
) -> None:
    session = await engine.open(config())
    stream = double.latest
    stream.assistant_starts("Our opening hours are", audio=b"\x01\x02" * 8000, chunk=320)
    await settle()  # 50 audio events are queued locally, nobody has played them yet
    stream.interrupt(heard="Our opening")
    stream.assistant_audio(b"\x03\x04" * 800)  # late audio of the interrupted turn
    await settle()
    log = EventLog(session)
    await log.wait_for(lambda: bool(log.of(Interrupted)))
    await settle()
    assert log.of(AgentAudio) == []
    assert len(log.of(Interrupted)) == 1
    # The next turn speaks again.
    stream.assistant_says("Sorry, go ahead.", audio=b"\x05\x06" * 160)
    await log.wait_for(lambda: bool(log.of(AgentAudio)))
    assert log.of(AgentAudio)[0].pcm == b"\x05\x06" * 160
    await session.close()
    await log.stop()
    assert double.violations == []


async def test_v1_interruption_marker_is_a_barge_in(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    _, log = call
    double.latest.assistant_starts("Hello", audio=b"\x00\x01" * 320)
    double.latest.interrupt_v1()
    await log.wait_for(lambda: bool(log.of(Interrupted)))
    assert not any(isinstance(e, AgentTranscript) and "interrupted" in e.text for e in log.events)


async def test_usage_events_become_token_deltas(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    _, log = call
    double.latest.usage((100, 20), (0, 0))
    double.latest.usage((5, 0), (300, 40))
    await log.wait_for(lambda: len(log.of(Usage)) == 2)
    assert log.of(Usage) == [Usage(120, 0), Usage(5, 340)]


async def test_malformed_events_are_reported_and_the_call_goes_on(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    _, log = call
    stream = double.latest
    stream.emit_raw(b"\x00garbage")
    stream.emit_raw(b'{"no_event": true}')
    stream.emit("audioOutput", {"contentId": "x", "content": "%%% not base64"})
    stream.emit("textOutput", {"contentId": "x", "role": "USER"})
    stream.emit("usageEvent", {"details": {"delta": {"input": {"speechTokens": "many"}}}})
    stream.emit("someFutureEvent", {"whatever": 1})  # unknown events are ignored
    stream.caller_says("still here")
    await log.wait_for(lambda: bool(log.of(CallerTranscript)))
    errors = log.of(EngineError)
    assert len(errors) == 5
    assert all(error.kind == "malformed_event" and error.recoverable for error in errors)
    assert log.of(CallerTranscript) == [CallerTranscript("still here", True)]
    assert len(double.streams) == 1


async def test_send_text_is_an_interactive_user_text_mid_call(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    session, _ = call
    session.send_audio(frame(1))
    await session.send_text("I'd rather type: order 1234")
    session.send_audio(frame(2))
    await settle()
    stream = double.latest
    assert stream.texts == ["I'd rather type: order 1234"]
    assert session.history[-1] == HistoryTurn("caller", "I'd rather type: order 1234")


async def test_greeting_is_sent_once_audio_is_open(double: NovaDouble) -> None:
    engine = NovaSonicEngine("us-east-1", transport_factory=double)
    session = await engine.open(config(greeting="Hi, this is Acme."))
    assert len(double.latest.texts) == 1 and "Hi, this is Acme." in double.latest.texts[0]
    await session.close()
    assert double.violations == []


async def test_empty_system_prompt_still_sends_a_system_content(double: NovaDouble) -> None:
    engine = NovaSonicEngine("us-east-1", transport_factory=double)
    session = await engine.open(config(system_prompt="  "))
    assert double.latest.system_prompt
    await session.close()
    assert double.violations == []


async def test_the_double_rejects_protocol_violations(double: NovaDouble) -> None:
    stream = await double()
    with pytest.raises(ProtocolViolation, match="out of order"):
        await stream.send(b'{"event": {"promptStart": {"promptName": "p"}}}')
    stream = await double()
    await stream.send(
        b'{"event": {"sessionStart": {"inferenceConfiguration": '
        b'{"maxTokens": 10, "topP": 0.5, "temperature": 0.5}}}}'
    )
    with pytest.raises(ProtocolViolation, match="JSON string"):
        await stream.send(
            json.dumps(
                {
                    "event": {
                        "promptStart": {
                            "promptName": "p",
                            "textOutputConfiguration": {"mediaType": "text/plain"},
                            "toolUseOutputConfiguration": {"mediaType": "application/json"},
                            "audioOutputConfiguration": {
                                "mediaType": "audio/lpcm",
                                "sampleRateHertz": 8000,
                                "sampleSizeBits": 16,
                                "channelCount": 1,
                                "audioType": "SPEECH",
                                "encoding": "base64",
                                "voiceId": "amy",
                            },
                            "toolConfiguration": {
                                "tools": [
                                    {
                                        "toolSpec": {
                                            "name": "t",
                                            "description": "d",
                                            "inputSchema": {"json": {"type": "object"}},
                                        }
                                    }
                                ]
                            },
                        }
                    }
                }
            ).encode()
        )
    assert len(double.violations) == 2
    double.violations.clear()


# Faults ------------------------------------------------------------------------------

RETRYABLE = [
    ("throttling", NovaStreamError("throttling", "slow down", retryable=True)),
    ("service_unavailable", NovaStreamError("service_unavailable", "busy", retryable=True)),
    ("internal_server", NovaStreamError("internal_server", "oops", retryable=True)),
    ("model_timeout", NovaStreamError("model_timeout", "timed out", retryable=True)),
    ("model_stream_error", NovaStreamError("model_stream_error", "broken", retryable=True)),
    ("stream_closed", None),  # the service closes the stream mid-turn
    ("transport", RuntimeError("CRT connection reset")),
]


@pytest.mark.parametrize(("kind", "error"), RETRYABLE, ids=[kind for kind, _ in RETRYABLE])
async def test_recoverable_faults_continue_on_a_fresh_stream(
    call: tuple[NovaSonicSession, EventLog],
    double: NovaDouble,
    kind: str,
    error: BaseException | None,
) -> None:
    session, log = call
    first = double.latest
    first.caller_says("I need to change my delivery address")
    first.assistant_starts("Sure, what is")
    await log.wait_for(lambda: bool(log.of(CallerTranscript)))
    for index in range(10):
        session.send_audio(frame(index))
    await settle()
    if error is None:
        first.end()
    else:
        first.fail(error)
    await log.wait_for(lambda: bool(log.of(EngineError)))
    await log.wait_for(lambda: len(double.live()) == 1 and double.latest is not first)
    (failure,) = log.of(EngineError)
    assert failure.kind == kind and failure.recoverable
    second = double.latest
    assert second.history == [("USER", "I need to change my delivery address")]
    assert bytes(second.audio) == bytes(first.audio)  # the last seconds are replayed
    session.send_audio(frame(99))
    await settle()
    assert bytes(second.audio).endswith(frame(99))
    second.caller_says("12 High Street")
    await log.wait_for(lambda: len(log.of(CallerTranscript)) == 2)
    assert session.recoveries == 1


@pytest.mark.parametrize(
    ("kind", "message"),
    [("validation", "Invalid input request"), ("access_denied", "not authorized")],
)
async def test_unrecoverable_faults_end_the_session_for_a_handoff(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble, kind: str, message: str
) -> None:
    _, log = call
    double.latest.fail(NovaStreamError(kind, message, retryable=False))
    await log.wait_for(lambda: log.finished)
    (error,) = log.of(EngineError)
    assert error.kind == kind and not error.recoverable
    assert len(double.streams) == 1


async def test_repeated_failures_give_up(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    _, log = call
    double.open_failures = [NovaStreamError("throttling", "slow down", retryable=True)] * 3
    double.latest.fail(NovaStreamError("service_unavailable", "busy", retryable=True))
    await log.wait_for(lambda: log.finished)
    first, last = log.of(EngineError)
    assert first.recoverable and not last.recoverable
    assert last.kind == "throttling" and "could not continue" in last.message


async def test_a_failure_storm_is_not_retried_forever(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    _, log = call
    for _ in range(4):
        double.latest.fail(NovaStreamError("model_stream_error", "broken", retryable=True))
        await log.wait_for(
            lambda: bool(log.of(EngineError)) and (log.finished or len(double.live()) == 1)
        )
        await settle()
    assert log.finished
    errors = log.of(EngineError)
    assert [error.recoverable for error in errors] == [True, True, True, False]


async def test_a_failed_send_moves_the_call_to_a_fresh_stream(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    session, log = call
    first = double.latest
    first.send_error = NovaStreamError("stream_closed", "write failed", retryable=True)
    session.send_audio(frame(7))
    await log.wait_for(lambda: len(double.streams) == 2 and double.latest.phase == "audio")
    assert bytes(double.latest.audio) == frame(7)  # the frame that failed is replayed


async def test_open_retries_throttling_then_gives_a_clear_error(double: NovaDouble) -> None:
    engine = NovaSonicEngine("us-east-1", transport_factory=double, clock=FakeClock())
    double.open_failures = [NovaStreamError("throttling", "slow down", retryable=True)]
    session = await engine.open(config())
    assert len(double.streams) == 1
    await session.close()
    double.open_failures = [NovaStreamError("access_denied", "no model access", retryable=False)]
    with pytest.raises(NovaStreamError, match="access_denied"):
        await engine.open(config())
    assert double.violations == []


async def test_tool_result_after_close_or_for_unknown_ids_is_harmless(
    call: tuple[NovaSonicSession, EventLog], double: NovaDouble
) -> None:
    session, _ = call
    await session.send_tool_result("never-asked", {"answer": "?"})
    assert double.latest.tool_results == []
    await session.close()
    await session.send_text("typed after hang-up")
    session.send_audio(frame(1))


async def test_engine_processor_routes_a_tool_call_through_nova(double: NovaDouble) -> None:
    from pipeline.engine_processor import EngineProcessor
    from pipeline.frames import (
        Frame,
        InputAudioFrame,
        InterruptionFrame,
        ToolCallFrame,
        TranscriptFrame,
    )

    engine = NovaSonicEngine("us-east-1", transport_factory=double)
    session = await engine.open(config())
    seen: list[Frame] = []

    async def tools(call: ToolCallFrame) -> dict[str, Any]:
        return {"answer": f"asked: {call.arguments['question']}"}

    processor = EngineProcessor(session, tools, output_rate=8000)
    processor.link(seen.append)
    runner = asyncio.ensure_future(processor.run())
    processor.process(InputAudioFrame(frame(1), 8000))
    stream = double.latest
    stream.caller_says("When do you open?")
    tool_id = stream.tool_use("ask_agent", {"question": "opening hours"})
    async with asyncio.timeout(2):
        while not stream.tool_results:
            await asyncio.sleep(0.001)
    assert stream.tool_results == [(tool_id, {"answer": "asked: opening hours"})]
    stream.assistant_starts("We open at nine", audio=b"\x01\x00" * 800)
    stream.interrupt()
    async with asyncio.timeout(2):
        while not any(isinstance(f, InterruptionFrame) for f in seen):
            await asyncio.sleep(0.001)
    assert TranscriptFrame("caller", "When do you open?", True) in seen
    assert any(isinstance(f, ToolCallFrame) for f in seen)
    assert bytes(stream.audio) == frame(1)
    await processor.close()
    runner.cancel()
    assert double.violations == []


def _valid_prefix(history: list[tuple[str, str]] | None = None) -> list[bytes]:
    from pipeline.engines import nova_protocol as proto

    events = [
        proto.session_start(proto.Inference(), "MEDIUM"),
        proto.prompt_start("p", "tiffany", 8000, TOOLS),
        *proto.text_content("p", "system", "SYSTEM", "be nice", False),
    ]
    for number, (role, text) in enumerate(history or []):
        events += proto.text_content("p", f"h{number}", role, text, False)  # type: ignore[arg-type]
    return events


def _audio_open() -> list[bytes]:
    from pipeline.engines import nova_protocol as proto

    return [*_valid_prefix(), proto.audio_content_start("p", "audio", 8000)]


def _bad(name: str) -> list[bytes]:
    from pipeline.engines import nova_protocol as proto

    prefix = proto.audio_input_prefix("p", "audio")
    match name:
        case "history starts with the assistant":
            return _valid_prefix([("ASSISTANT", "hi")])
        case "history after audio":
            return [*_audio_open(), *proto.text_content("p", "late", "USER", "x", False)]
        case "second audio content":
            return [*_audio_open(), proto.audio_content_start("p", "audio2", 8000)]
        case "chunk over 32 ms":
            return [*_audio_open(), proto.audio_input(prefix, b"\x00" * 600)]
        case "short chunk then more audio":
            short = proto.audio_input(prefix, b"\x00" * 100)
            return [*_audio_open(), short, proto.audio_input(prefix, b"\x00" * 320)]
        case "tool result for an unknown toolUse":
            start, _, _ = proto.tool_result_content("p", "t", "unknown", {"a": 1})
            return [*_audio_open(), start]
        case "interleaved content":
            start, _, _ = proto.text_content("p", "typed", "USER", "hello", True)
            return [*_audio_open(), start, proto.audio_input(prefix, b"\x00" * 320)]
        case "wrong prompt name":
            return [
                *_audio_open(),
                proto.audio_input(proto.audio_input_prefix("q", "audio"), b"\x00" * 320),
            ]
        case "event after sessionEnd":
            return [
                *_audio_open(),
                proto.content_end("p", "audio"),
                proto.prompt_end("p"),
                proto.session_end(),
                proto.session_end(),
            ]
        case "unsupported rate":
            return [*_valid_prefix(), proto.audio_content_start("p", "audio", 44100)]
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name",
    [
        "history starts with the assistant",
        "history after audio",
        "second audio content",
        "chunk over 32 ms",
        "short chunk then more audio",
        "tool result for an unknown toolUse",
        "interleaved content",
        "wrong prompt name",
        "event after sessionEnd",
        "unsupported rate",
    ],
)
async def test_the_double_fails_loudly_on_each_violation(double: NovaDouble, name: str) -> None:
    stream = await double()
    with pytest.raises(ProtocolViolation):
        for event in _bad(name):
            await stream.send(event)
    assert len(double.violations) == 1
    double.violations.clear()


async def test_legacy_v1_model_gets_no_nova2_only_fields(double: NovaDouble) -> None:
    engine = NovaSonicEngine(
        "us-east-1", model_id="amazon.nova-sonic-v1:0", transport_factory=double
    )
    session = await engine.open(config(greeting="Hello!"))
    stream = double.latest
    assert "turnDetectionConfiguration" not in stream.session_config
    await session.send_text("typed")
    assert stream.texts == []
    await session.close()
    assert double.violations == []

"""The local speech engine end to end on its real models: speech in, tool call, speech out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipeline.engines import asr, tts
from pipeline.engines.base import (
    AgentAudio,
    AgentTranscript,
    CallerTranscript,
    EngineConfig,
    EngineError,
    EngineEvent,
    Interrupted,
    ToolSpec,
    ToolUse,
    TurnEnd,
)
from pipeline.engines.local import (
    FALLBACK_ANSWER,
    LocalEngineUnavailable,
    LocalSession,
    LocalSpeechEngine,
)
from tests.bench.wer import VOICE, word_errors

pytest.importorskip("pocketsphinx")
pytest.importorskip("espeakng_loader")

ASK_AGENT = ToolSpec("ask_agent", "Answer the caller", {"type": "object"})
SOP = (
    "Customers can return unused items within 30 days of delivery for a full refund. "
    "Ask for the order number. Offer a prepaid return label by email. " * 4
)
ENGINE = LocalSpeechEngine(decoders=1)  # decoders are shared by every test's session


def config(**overrides: Any) -> EngineConfig:
    fields: dict[str, Any] = {"system_prompt": SOP, "tools": (ASK_AGENT,)}
    return EngineConfig(**(fields | overrides))


async def next_event(events: AsyncIterator[EngineEvent], timeout: float = 10.0) -> EngineEvent:
    return await asyncio.wait_for(anext(events), timeout)


async def until(
    events: AsyncIterator[EngineEvent], kind: type, timeout: float = 15.0
) -> list[EngineEvent]:
    """Events up to and including the first of `kind`."""
    seen: list[EngineEvent] = []
    while not seen or not isinstance(seen[-1], kind):
        seen.append(await next_event(events, timeout))
    return seen


def caller_says(text: str, rate: int) -> bytes:
    """200 ms of silence, the words, then 2 s of silence."""
    return b"\0" * (rate // 5 * 2) + tts.synthesize(text, rate, VOICE) + b"\0" * (rate * 2)


async def speak_into(
    session: LocalSession, text: str | bytes, rate: int, pace: float = 4.0
) -> None:
    """Caller audio in 20 ms chunks at `pace` x real time."""
    pcm = caller_says(text, rate) if isinstance(text, str) else text
    step = rate // 50 * 2
    for start in range(0, len(pcm), step):
        session.send_audio(pcm[start : start + step])
        await asyncio.sleep(0.02 / pace)


def audio_seconds(events: list[EngineEvent], rate: int) -> float:
    return sum(len(e.pcm) for e in events if isinstance(e, AgentAudio)) / 2 / rate


@pytest.mark.parametrize(("input_rate", "output_rate"), [(16000, 16000), (8000, 24000)])
async def test_spoken_question_gets_a_spoken_answer(input_rate: int, output_rate: int) -> None:
    session = await ENGINE.open(config(input_rate=input_rate, output_rate=output_rate))
    events = session.events()
    await speak_into(session, "i want to return my order", input_rate)
    heard = await until(events, ToolUse)
    transcript, use = heard
    assert isinstance(transcript, CallerTranscript) and transcript.final
    # Telephone-band (8 kHz) audio may cost a word; 16 kHz is recognized exactly.
    assert word_errors("i want to return my order", transcript.text) <= (input_rate < 16000)
    assert isinstance(use, ToolUse)
    assert (use.name, use.arguments) == ("ask_agent", {"question": transcript.text})
    await session.send_tool_result(use.tool_use_id, {"answer": "Sure, what is the order?"})
    spoken = await until(events, TurnEnd)
    assert spoken[0] == AgentTranscript("Sure, what is the order?", final=True)
    assert all(isinstance(e, AgentAudio) for e in spoken[1:-1])
    chunk = output_rate // 25 * 2  # 40 ms
    assert all(len(e.pcm) == chunk for e in spoken[1:-2] if isinstance(e, AgentAudio))
    assert 1.0 < audio_seconds(spoken, output_rate) < 4.0
    await session.close()


async def test_typed_text_skips_recognition_and_handoff_answers_are_spoken() -> None:
    session = await ENGINE.open(config())
    events = session.events()
    await session.send_text("  I want a person  ")
    heard = await until(events, ToolUse)
    assert heard[0] == CallerTranscript("I want a person")
    use = heard[1]
    assert isinstance(use, ToolUse) and use.arguments == {"question": "I want a person"}
    await session.send_tool_result(use.tool_use_id, {"answer": "Connecting you.", "handoff": "ask"})
    spoken = await until(events, TurnEnd)
    assert spoken[0] == AgentTranscript("Connecting you.")
    await session.close()


async def test_greeting_is_spoken_first() -> None:
    session = await ENGINE.open(config(greeting="Thanks for calling Northwind."))
    spoken = await until(session.events(), TurnEnd)
    assert spoken[0] == AgentTranscript("Thanks for calling Northwind.")
    assert 1.0 < audio_seconds(spoken, 16000) < 4.0
    await session.close()


async def test_without_ask_agent_the_caller_is_heard_but_not_answered() -> None:
    session = await ENGINE.open(config(tools=()))
    events = session.events()
    await session.send_text("hello")
    assert await next_event(events) == CallerTranscript("hello")
    with pytest.raises(TimeoutError):
        await next_event(events, timeout=0.5)
    await session.close()


async def test_missing_answer_gets_an_apology() -> None:
    session = await ENGINE.open(config())
    events = session.events()
    await session.send_text("hello")
    use = (await until(events, ToolUse))[-1]
    assert isinstance(use, ToolUse)
    await session.send_tool_result(use.tool_use_id, {"error": "tool ask_agent timed out"})
    assert (await until(events, TurnEnd))[0] == AgentTranscript(FALLBACK_ANSWER)
    await session.close()


async def test_barge_in_interrupts_and_stops_the_answer() -> None:
    session = await ENGINE.open(config())
    events = session.events()
    await session.send_text("tell me everything")
    use = (await until(events, ToolUse))[-1]
    assert isinstance(use, ToolUse)
    answer = " ".join(["Our return policy lets you send back unused items within thirty days."] * 4)
    full = len(tts.synthesize(answer, 16000)) / 2 / 16000
    await session.send_tool_result(use.tool_use_id, {"answer": answer})
    await until(events, AgentAudio)
    await speak_into(session, "stop please", 16000, pace=1.0)
    cut = await until(events, Interrupted)
    assert not any(isinstance(e, TurnEnd) for e in cut)
    assert audio_seconds(cut, 16000) < full / 2
    after = await until(events, CallerTranscript)
    assert not any(isinstance(e, AgentAudio) for e in after)
    assert isinstance(after[-1], CallerTranscript) and after[-1].text
    await session.close()


async def test_close_ends_events_and_is_idempotent() -> None:
    session = await ENGINE.open(config())
    collected = asyncio.ensure_future(_drain(session.events()))
    await session.send_text("hello")
    await asyncio.sleep(0.1)
    await session.close()
    await session.close()
    session.send_audio(b"\0" * 640)  # ignored, not an error
    assert [type(e) for e in await asyncio.wait_for(collected, 2)] == [CallerTranscript, ToolUse]


async def _drain(events: AsyncIterator[EngineEvent]) -> list[EngineEvent]:
    return [event async for event in events]


async def test_failures_become_recoverable_engine_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_tts(*_: Any, **__: Any) -> bytes:
        raise tts.SynthesisError("no voice today")

    def broken_asr(*_: Any) -> str:
        raise asr.RecognitionError("decoder fell over")

    hello = caller_says("hello there", 16000)
    session = await ENGINE.open(config(greeting="Hello"))
    monkeypatch.setattr(tts, "synthesize_native", broken_tts)
    monkeypatch.setattr(asr.Recognizer, "recognize", broken_asr)
    events = session.events()
    assert await until(events, EngineError) == [
        AgentTranscript("Hello"),
        EngineError("tts", "no voice today", recoverable=True),
    ]
    await speak_into(session, hello, 16000, pace=8.0)
    assert (await until(events, EngineError))[-1] == EngineError(
        "asr", "decoder fell over", recoverable=True
    )
    await session.close()


async def test_check_and_open_report_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    await ENGINE.check()
    with pytest.raises(ValueError, match="input_rate"):
        await ENGINE.open(config(input_rate=44100))

    def no_model() -> Any:
        raise asr.RecognitionError("pocketsphinx could not load its model")

    monkeypatch.setattr(asr, "_new_decoder", no_model)
    with pytest.raises(LocalEngineUnavailable, match="pocketsphinx"):
        await LocalSpeechEngine().check()

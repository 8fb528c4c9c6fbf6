"""AI faults the engine processor turns into handoffs: a tool (the agent) timing out, a fault
result, repeated tool failures, and an engine that ends the conversation by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from pipeline.engine_processor import REPEATED_TOOL_FAILURES, EngineProcessor
from pipeline.engines.base import EngineError, EngineEvent, ToolUse
from pipeline.frames import ErrorFrame, Frame, HandoffRequestFrame, ToolCallFrame


class FakeSession:
    """An EngineSession whose events the test emits and whose tool results it reads."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self.results: list[tuple[str, dict[str, Any]]] = []
        self.accept = asyncio.Event()
        self.accept.set()
        self.closed = False

    def send_audio(self, pcm: bytes) -> None:
        pass

    async def send_text(self, text: str) -> None:
        pass

    async def send_tool_result(self, tool_use_id: str, result: dict[str, Any]) -> None:
        await self.accept.wait()
        self.results.append((tool_use_id, result))

    async def events(self) -> AsyncIterator[EngineEvent]:
        while (event := await self.queue.get()) is not None:
            yield event

    async def close(self) -> None:
        self.closed = True
        self.queue.put_nowait(None)


Tools = Callable[[ToolCallFrame], Awaitable[dict[str, Any]]]


class Rig:
    def __init__(self, tools: Tools, **options: Any) -> None:
        self.session = FakeSession()
        self.frames: list[Frame] = []
        self.processor = EngineProcessor(self.session, tools, output_rate=16000, **options)
        self.processor.link(self.frames.append)
        self.runner = asyncio.ensure_future(self.processor.run())

    def of(self, kind: type[Frame]) -> list[Any]:
        return [frame for frame in self.frames if isinstance(frame, kind)]

    async def until(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.001)

    def tool_use(self, number: int, name: str = "ask_agent", **arguments: Any) -> None:
        self.session.queue.put_nowait(ToolUse(f"t{number}", name, arguments))

    async def stop(self) -> None:
        await self.processor.close()
        await asyncio.wait_for(self.runner, 2)


async def test_a_tool_that_times_out_hands_off_at_once_as_a_fault() -> None:
    async def hangs(call: ToolCallFrame) -> dict[str, Any]:
        await asyncio.sleep(30)
        return {}

    rig = Rig(hangs, tool_timeout=0.05)
    rig.tool_use(1, question="refunds?")
    await rig.until(lambda: bool(rig.of(HandoffRequestFrame)) and bool(rig.session.results))
    (handoff,) = rig.of(HandoffRequestFrame)
    assert handoff.source == "fault"
    assert handoff.reason == "AI fault: ask_agent timed out after 0.05 s"
    ((tool_id, result),) = rig.session.results
    assert tool_id == "t1" and result["error"] == "tool ask_agent timed out"
    assert "fault" not in result  # pipeline bookkeeping never reaches the model
    await rig.stop()


async def test_the_third_failed_tool_call_hands_off() -> None:
    async def unknown(call: ToolCallFrame) -> dict[str, Any]:
        return {"error": f"unknown tool {call.name}"}

    rig = Rig(unknown)
    for number in (1, 2):
        rig.tool_use(number, "lookup_order")
    await rig.until(lambda: len(rig.session.results) == 2)
    await asyncio.sleep(0.01)
    assert rig.of(HandoffRequestFrame) == []  # two failures: the call goes on
    rig.tool_use(3, "lookup_order")
    await rig.until(lambda: len(rig.session.results) == 3)
    assert rig.of(HandoffRequestFrame) == [HandoffRequestFrame(REPEATED_TOOL_FAILURES, "fault")]
    assert rig.session.results[2][1] == {
        "error": "unknown tool lookup_order",
        "handoff": REPEATED_TOOL_FAILURES,
    }
    assert rig.processor.tool_failures == 3
    await rig.stop()


async def test_broken_tools_and_malformed_tool_calls_count_as_failures() -> None:
    async def broken(call: ToolCallFrame) -> dict[str, Any]:
        raise RuntimeError("database down")

    rig = Rig(broken, max_tool_failures=3)
    for _ in range(2):  # the engine answered these itself (arguments were not JSON)
        rig.session.queue.put_nowait(EngineError("tool_arguments", "ask_agent: bad JSON", True))
    await rig.until(lambda: len(rig.of(ErrorFrame)) == 2)
    assert not any(frame.fatal for frame in rig.of(ErrorFrame))
    assert rig.of(HandoffRequestFrame) == []
    rig.tool_use(1)
    await rig.until(lambda: bool(rig.of(HandoffRequestFrame)))
    assert rig.of(HandoffRequestFrame)[0].reason == REPEATED_TOOL_FAILURES
    assert rig.session.results[0][1]["error"] == "tool ask_agent failed"
    await rig.stop()


async def test_a_fault_result_hands_off_before_the_engine_takes_the_answer() -> None:
    async def agent_down(call: ToolCallFrame) -> dict[str, Any]:
        return {"answer": "Let me connect you.", "handoff": "AI fault: agent 500", "fault": True}

    rig = Rig(agent_down)
    rig.session.accept.clear()  # the engine is slow to take the tool result
    rig.tool_use(1, question="hours?")
    await rig.until(lambda: bool(rig.of(HandoffRequestFrame)))
    assert rig.of(HandoffRequestFrame) == [HandoffRequestFrame("AI fault: agent 500", "fault")]
    assert rig.session.results == []
    close = asyncio.ensure_future(rig.processor.close())  # the handoff closes the engine
    rig.session.accept.set()
    await close
    await rig.until(lambda: bool(rig.session.results))  # the send was not cut in half
    assert rig.session.results == [
        ("t1", {"answer": "Let me connect you.", "handoff": "AI fault: agent 500"})
    ]
    await asyncio.wait_for(rig.runner, 2)


async def test_a_requested_transfer_waits_for_the_answer_and_names_its_tool() -> None:
    async def transfer(call: ToolCallFrame) -> dict[str, Any]:
        return {"status": "transferring", "handoff": "caller asked"}

    rig = Rig(transfer)
    rig.tool_use(1, "transfer_to_human", reason="caller asked")
    await rig.until(lambda: bool(rig.of(HandoffRequestFrame)))
    assert rig.session.results  # the model had its answer first (it says the hand-over line)
    assert rig.of(HandoffRequestFrame) == [HandoffRequestFrame("caller asked", "transfer_to_human")]
    assert rig.processor.tool_failures == 0
    await rig.stop()


async def test_an_engine_that_ends_the_conversation_by_itself_is_a_fatal_fault() -> None:
    async def never(call: ToolCallFrame) -> dict[str, Any]:
        return {}

    rig = Rig(never)
    rig.session.queue.put_nowait(None)  # the stream is gone, no error said why
    await asyncio.wait_for(rig.runner, 2)
    (error,) = rig.of(ErrorFrame)
    assert error.fatal and error.message.startswith("stream_lost")


@pytest.mark.parametrize("fatal", [True, False])
async def test_closing_or_a_reported_fatal_error_adds_no_stream_lost(fatal: bool) -> None:
    async def never(call: ToolCallFrame) -> dict[str, Any]:
        return {}

    rig = Rig(never)
    if fatal:
        rig.session.queue.put_nowait(EngineError("validation", "Invalid input", False))
        rig.session.queue.put_nowait(None)
        await asyncio.wait_for(rig.runner, 2)
        assert [(e.message, e.fatal) for e in rig.of(ErrorFrame)] == [
            ("validation: Invalid input", True)
        ]
    else:
        await rig.stop()
        assert rig.of(ErrorFrame) == []

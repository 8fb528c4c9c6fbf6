"""Calls through the Nova Sonic engine (protocol-checking double) with the agent on AgentCore
(ORATIO_AGENT_RUNTIME=agentcore, the real boto3 client against an emulated data plane), over the
browser widget's WebSocket and over Twilio: a question goes through `ask_agent` to the runtime
and its answer is spoken; talking over it flushes the widget; each AI fault reaches the human
queue within 2 seconds of detection."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from pipeline.engines.nova_protocol import NovaStreamError
from tests.browser_client import connect, expect, hello
from tests.fault_calls import ARN, FAKE_AWS_ENV, FAULTS, FaultRig, fault_rig
from tests.nova_double import NovaDoubleStream
from tests.scripted_engine import tone

pytestmark = pytest.mark.asyncio(loop_scope="module")

TARGET_SECONDS = 2.0
LONG_ANSWER = (
    "Your order left our warehouse yesterday and should reach you within three working days; "
    "a tracking link is on its way to your e-mail address."
)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FaultRig]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in FAKE_AWS_ENV.items():
            env.setenv(name, value)
        async with fault_rig(tmp_path_factory.mktemp("nova") / "data") as running:
            yield running


@pytest_asyncio.fixture(loop_scope="module", autouse=True)
async def fresh(rig: FaultRig) -> AsyncIterator[None]:
    rig.reset()
    yield
    rig.reset()
    assert rig.double.violations == []


async def test_question_answer_barge_in_then_a_fault_reaches_a_person_in_time(
    rig: FaultRig,
) -> None:
    rig.agentcore.answer = lambda prompt: LONG_ANSWER
    seen = len(rig.agentcore.invocations)
    async with connect(rig.server.browser_url()) as ws:
        ready = await hello(ws)
        greeting = await expect(ws, "transcript", role="agent", final=True)
        assert "Northwind" in greeting["text"]
        for question in ("Where is my order?", "And when will it arrive?"):
            await ws.send(json.dumps({"type": "text", "text": question}))
            answer = await expect(ws, "transcript", role="agent", final=True)
            assert answer["text"] == LONG_ANSWER
        asked = rig.agentcore.invocations[seen:]
        assert [call.prompt for call in asked] == ["Where is my order?", "And when will it arrive?"]
        assert {call.arn for call in asked} == {ARN} and all(call.signed for call in asked)
        runtime_sessions = {call.session_id for call in asked}
        assert len(runtime_sessions) == 1  # one runtime session for the whole call
        assert len(runtime_sessions.pop()) >= 33
        assert ready["session_id"] in asked[0].session_id

        # The caller talks over the answer: the model stops and the widget drops its audio.
        rig.arm("engine_error")  # ...and the caller's next turn breaks the engine for good
        for _ in range(8):
            await ws.send(tone(20, 16000))
        await expect(ws, "flush")
        assert rig.model.interruptions == 1
        for _ in range(5):
            await ws.send(bytes(640))
        handoff = await expect(ws, "handoff")
        took = time.monotonic() - rig.detected_at("engine_error")
        assert handoff["reason"] == "AI fault: validation: Invalid input request"
        assert took < TARGET_SECONDS
    tenant = rig.phone.tenant
    session = await tenant.get_session(ready["session_id"])
    assert session.status == "handoff" and session.handoff_reason == handoff["reason"]
    turns = await tenant.list_turns(session.id)
    assert any(t.role == "agent" and t.interrupted for t in turns)
    notes = [n for n in await tenant.list_notifications() if n.session_id == session.id]
    assert [n.kind for n in notes] == ["handoff"]


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_each_ai_fault_reaches_the_widget_queue_within_two_seconds(
    rig: FaultRig, kind: str
) -> None:
    transfer = await rig.browser_call(kind)
    assert transfer.reason.startswith("AI fault")
    assert 0 <= transfer.ms < TARGET_SECONDS * 1000, transfer


@pytest.mark.parametrize("kind", ["agent_5xx", "stream_lost"])
async def test_an_ai_fault_moves_a_phone_call_to_the_queue_within_two_seconds(
    rig: FaultRig, kind: str
) -> None:
    transfer = await rig.twilio_call(kind)
    assert transfer.reason.startswith("AI fault")
    assert 0 <= transfer.ms < TARGET_SECONDS * 1000, transfer


async def test_an_engine_that_recovers_keeps_the_call(rig: FaultRig) -> None:
    """A retryable stream failure is continuation's job, not a handoff."""

    def blip(stream: NovaDoubleStream, text: str) -> bool:
        rig.model.on_turn = None
        stream.fail(NovaStreamError("model_stream_error", "broken", retryable=True))
        return True

    rig.model.on_turn = blip
    async with connect(rig.server.browser_url()) as ws:
        await hello(ws)
        await expect(ws, "transcript", role="agent", final=True)
        opened = len(rig.double.streams)
        await ws.send(json.dumps({"type": "text", "text": "first"}))
        async with asyncio.timeout(5):
            while len(rig.double.streams) == opened or rig.double.latest.phase != "audio":
                await asyncio.sleep(0.01)
        await ws.send(json.dumps({"type": "text", "text": "What about returns?"}))
        answer = await expect(ws, "transcript", role="agent", final=True)
        assert "returns" in answer["text"]
        await ws.send(json.dumps({"type": "bye"}))
        await expect(ws, "end")

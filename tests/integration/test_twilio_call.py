"""Phone calls over Twilio Media Streams against a real server on loopback, driven by the
Twilio simulator; transfers and hang-ups go through the real `twilio` library to the simulator's
REST emulator."""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import pytest
import pytest_asyncio
import responses

from connectors.twilio_rest import RestSettings, TwilioRest
from oratio_voice.models import Agent, Notification
from oratio_voice.routes.twilio_auth import twilio_state
from oratio_voice.simulator.twilio_call import CallScript, Press, Speak
from pipeline.frames import InterruptionFrame
from tests.integration.twilio_helpers import ACCOUNT, Phone, phone_server
from tests.scripted_engine import ScriptedEngine, tone

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUESTION = "How many days do I have to return?"
SPEECH = Speak(tone(400, 8000, 300.0), "caller speech")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def phone(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Phone]:
    """One server for the module; `fresh` puts the agent and the emulator back after each test."""
    data_dir = tmp_path_factory.mktemp("twilio") / "data"
    async with phone_server(data_dir, ScriptedEngine()) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", autouse=True)
async def fresh(phone: Phone) -> AsyncIterator[None]:
    agent = await phone.tenant.get_agent(phone.server.demo["agent_id"])
    yield
    await phone.tenant.put_agent(agent)
    phone.rest.account = ACCOUNT
    phone.engine.utterances = []


async def notes_of(phone: Phone, session_id: str) -> list[Notification]:
    return [n for n in await phone.tenant.list_notifications() if n.session_id == session_id]


async def _update_agent(phone: Phone, **changes: object) -> Agent:
    agent = await phone.tenant.get_agent(phone.server.demo["agent_id"])
    agent = agent.model_copy(update=changes)
    await phone.tenant.put_agent(agent)
    return agent


async def test_a_question_from_the_sop_is_answered_in_the_callers_ear(phone: Phone) -> None:
    phone.engine.utterances = [QUESTION]
    report = await phone.run(CallScript(steps=[SPEECH], linger=0.5))
    assert not report.error
    assert report.twiml is not None and report.twiml.stream_url.endswith("/twilio/media")
    assert report.twiml.parameters["agent_id"] == phone.server.demo["agent_id"]
    assert report.marks == ["turn-1", "turn-2"]  # greeting and answer, each heard to the end
    assert report.heard_seconds > 1.0 and report.ended_by == "caller"
    session = await phone.session_of(report)
    assert session.status == "ended" and session.end_reason == "caller hung up"
    assert session.channel == "twilio" and session.caller == "+15550001111"
    assert session.metadata["utterances_heard"] == 2
    turns = await phone.tenant.list_turns(session.id)
    assert [t.role for t in turns] == ["agent", "caller", "agent"]
    assert turns[1].text == QUESTION and "30 days" in turns[2].text
    # Audio stayed 8 kHz end to end: the engine heard 2 bytes per mu-law byte sent.
    assert phone.engine.sessions[-1].config.input_rate == 8000
    assert phone.engine.sessions[-1].audio_bytes == report.media_sent * 320
    await asyncio.sleep(0.3)  # the status callback lands after the call
    final = await phone.tenant.get_session(session.id)
    assert final.metadata["twilio_status"] == "completed"


async def test_asking_for_a_person_moves_the_call_to_the_queue(phone: Phone) -> None:
    phone.engine.utterances = ["I want to talk to a person"]
    report = await phone.run(CallScript(steps=[SPEECH]))
    assert report.ended_by == "rest"
    assert report.redirected_to == "<Response><Enqueue>support</Enqueue></Response>"
    assert len(report.marks) == 2  # the hand-over line was heard before the transfer
    session = await phone.session_of(report)
    assert session.status == "handoff" and session.handoff_reason == "caller asked for a person"
    assert session.end_reason == "transferred to a person"
    assert 'Caller first said: "I want to talk to a person"' in session.summary
    assert [n.kind for n in await notes_of(phone, session.id)] == ["handoff"]
    # The person who dequeues the caller (<Dial><Queue url=whisper>) hears the summary first.
    whisper = await phone.call().post(
        f"{phone.server.base_url}/twilio/whisper",
        {"CallSid": report.call_sid, "QueueSid": "QU" + "1" * 32},
    )
    assert ET.fromstring(whisper.text).findtext("Say") == session.summary
    operator = await phone.call().post(f"{phone.server.base_url}/twilio/operator?queue=support", {})
    queue = ET.fromstring(operator.text).find("Dial/Queue")
    assert queue is not None and queue.text == "support"
    assert queue.get("url") == f"{phone.server.base_url}/twilio/whisper"


async def test_pressing_zero_transfers(phone: Phone) -> None:
    report = await phone.run(CallScript(steps=[Press("0")]))
    assert report.redirected_to == "<Response><Enqueue>support</Enqueue></Response>"
    session = await phone.session_of(report)
    assert session.status == "handoff" and session.handoff_reason == "caller pressed 0"
    assert [n.kind for n in await notes_of(phone, session.id)] == ["handoff"]


async def test_warm_transfer_to_a_taskrouter_workflow_carries_the_summary(phone: Phone) -> None:
    demo = await phone.tenant.get_agent(phone.server.demo["agent_id"])
    handoff = demo.config.handoff.model_copy(update={"queue": "WW" + "5" * 32})
    await _update_agent(phone, config=demo.config.model_copy(update={"handoff": handoff}))
    phone.engine.utterances = ["let me talk to a person"]
    report = await phone.run(CallScript(steps=[SPEECH]))
    enqueue = ET.fromstring(report.redirected_to).find("Enqueue")
    assert enqueue is not None and enqueue.get("workflowSid") == "WW" + "5" * 32
    task = json.loads(enqueue.findtext("Task") or "{}")
    session = await phone.session_of(report)
    assert task == {
        "session_id": session.id,
        "reason": "caller asked for a person",
        "summary": session.summary,
    }


async def test_warm_transfer_to_a_number_whispers_the_summary(phone: Phone) -> None:
    demo = await phone.tenant.get_agent(phone.server.demo["agent_id"])
    handoff = demo.config.handoff.model_copy(update={"target": "+15557770000"})
    await _update_agent(phone, config=demo.config.model_copy(update={"handoff": handoff}))
    report = await phone.run(CallScript(steps=[Press("0")]))
    number = ET.fromstring(report.redirected_to).find("Dial/Number")
    assert number is not None and number.text == "+15557770000"
    whisper_url = number.get("url", "")
    whisper = await phone.call().post(whisper_url, {"CallSid": "CA" + "2" * 32})
    session = await phone.session_of(report)
    assert ET.fromstring(whisper.text).findtext("Say") == session.summary


async def test_a_failed_transfer_is_reported_and_the_ai_keeps_the_caller(phone: Phone) -> None:
    phone.rest.account = type(ACCOUNT)(ACCOUNT.account_sid, "rotated-token")  # REST says 401
    phone.engine.utterances = ["I want to talk to a person", QUESTION]
    report = await phone.run(CallScript(steps=[SPEECH, SPEECH], linger=0.5))
    assert report.rest_updates == [] and report.ended_by == "caller"
    assert len(report.marks) == 3  # greeting, hand-over line, then the AI answered again
    session = await phone.session_of(report)
    notes = await notes_of(phone, session.id)
    assert [n.kind for n in notes] == ["handoff_failed"] and "Twilio REST 401" in notes[0].body
    turns = await phone.tenant.list_turns(session.id)
    assert "30 days" in turns[-1].text


async def test_a_paused_agent_sends_callers_straight_to_the_queue(phone: Phone) -> None:
    await _update_agent(phone, status="paused")
    report = await phone.run()
    assert report.twiml is not None and not report.twiml.stream_url
    root = ET.fromstring(report.twiml.xml)
    assert [verb.tag for verb in root] == ["Say", "Enqueue"]
    assert root.findtext("Enqueue") == "support"
    (session,) = [
        s
        for s in await phone.tenant.list_sessions(channel="twilio", limit=500)
        if s.metadata.get("twilio_call_sid") == report.call_sid
    ]
    assert (session.status, session.handoff_reason) == ("handoff", "agent paused")
    assert [n.kind for n in await notes_of(phone, session.id)] == ["handoff"]


async def test_an_unknown_number_hears_a_polite_goodbye(phone: Phone) -> None:
    report = await phone.run(number="+15550009999")
    assert report.twiml is not None
    root = ET.fromstring(report.twiml.xml)
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
    assert "not in service" in (root.findtext("Say") or "")


async def test_a_call_that_ends_without_stop_still_closes_its_session(phone: Phone) -> None:
    call = phone.call(CallScript(quiet_timeout=30))
    running = asyncio.ensure_future(call.run())
    session = await _live_session(phone, call.report.call_sid)
    call.vanish()
    params = {**call.params, "CallStatus": "completed", "CallDuration": "3"}
    answer = await call.post(f"{phone.server.base_url}/twilio/status", params)
    assert answer.status_code == 204
    report = await asyncio.wait_for(running, 5)
    assert report.ended_by == "twilio" and report.close_code == 1000
    assert report.after_stream is None  # the call is over: no <Connect action>
    ended = await phone.session_of(report)
    assert ended.id == session and ended.status == "ended"
    assert ended.metadata["twilio_status"] == "completed"


async def test_a_failed_call_status_marks_the_session_failed(phone: Phone) -> None:
    call = phone.call(CallScript(quiet_timeout=30))
    running = asyncio.ensure_future(call.run())
    await _live_session(phone, call.report.call_sid)
    call.vanish()
    params = {**call.params, "CallStatus": "failed"}
    await call.post(f"{phone.server.base_url}/twilio/status", params)
    report = await asyncio.wait_for(running, 5)
    session = await phone.session_of(report)
    assert session.status == "failed" and session.end_reason == "Twilio call failed"


async def test_twenty_calls_at_once_all_complete(phone: Phone) -> None:
    phone.engine.utterances = [QUESTION] * 20
    script = CallScript(steps=[SPEECH], linger=0.3)
    reports = await asyncio.gather(*(phone.run(script) for _ in range(20)))
    assert [r.ended_by for r in reports] == ["caller"] * 20
    assert all(len(r.marks) == 2 and not r.error for r in reports)
    sessions = await asyncio.gather(*(phone.session_of(r) for r in reports))
    assert {s.status for s in sessions} == {"ended"}
    assert len({s.id for s in sessions}) == 20
    for session in sessions:
        turns = await phone.tenant.list_turns(session.id)
        assert "30 days" in turns[-1].text


async def _live_session(phone: Phone, call_sid: str) -> str:
    async with asyncio.timeout(5):
        while True:
            for session in await phone.tenant.list_sessions(channel="twilio", limit=500):
                if session.metadata.get("twilio_call_sid") == call_sid:
                    return session.id
            for call in list(phone.server.services.live._calls.values()):
                if call.record.metadata.get("twilio_call_sid") == call_sid:
                    return call.id
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("status", "code", "kind", "detail"),
    [
        (404, 20404, "handoff_failed", "is not in progress"),
        (401, 20003, "handoff_failed", "Twilio REST 401"),
        (429, 20429, "handoff", ""),  # retried, then accepted
    ],
)
async def test_transfer_against_the_twilio_api(
    phone: Phone, status: int, code: int, kind: str, detail: str
) -> None:
    """The server talks to api.twilio.com itself (stubbed in-process with `responses`)."""
    state = twilio_state(phone.server.services)
    emulator_rest = state.rest
    state.rest = TwilioRest(RestSettings(ACCOUNT.account_sid, ACCOUNT.auth_token))
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
            path = rf"/2010-04-01/Accounts/{ACCOUNT.account_sid}/Calls/CA\w+\.json"
            url = re.compile(r"https://api\.twilio\.com" + path)
            api.post(url, status=status, json={"code": code, "message": "no", "status": status})
            api.post(url, json={"sid": "CA1", "status": "in-progress"})
            report = await phone.run(CallScript(steps=[Press("0")], quiet_timeout=1.0, linger=0.2))
            sent = [parse_qs(str(c.request.body)) for c in api.calls]
    finally:
        state.rest = emulator_rest
    assert sent[0] == {"Twiml": ["<Response><Enqueue>support</Enqueue></Response>"]}
    assert len(sent) == (2 if status == 429 else 1)
    assert report.rest_updates == []  # the emulator was not involved
    session = await phone.session_of(report)
    notes = await notes_of(phone, session.id)
    assert [n.kind for n in notes] == [kind] and detail in notes[0].body
    assert session.status == ("handoff" if kind == "handoff" else "ended")


async def test_barge_in_clears_twilio_and_records_what_was_cut(phone: Phone) -> None:
    call = phone.call(CallScript(linger=0.3))
    running = asyncio.ensure_future(call.run())
    async with asyncio.timeout(5):
        while not call.report.received:  # the greeting has started playing
            await asyncio.sleep(0.01)
    live = twilio_state(phone.server.services).live[call.report.call_sid]
    live.push(InterruptionFrame())  # as the engine reports a barge-in
    report = await running
    assert report.clears == 1 and report.marks == ["turn-1"]
    assert report.heard_seconds < 0.48  # the 480 ms greeting was cut short
    session = await phone.session_of(report)
    assert session.metadata["utterances_cut"] == 1 and session.metadata["utterances_heard"] == 0
    (greeting,) = await phone.tenant.list_turns(session.id)
    assert greeting.interrupted

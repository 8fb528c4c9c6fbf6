"""Every kind of bad input at the Twilio edge gets the right answer, leaves the session in a
correct state, and other calls keep streaming."""

from __future__ import annotations

import asyncio
import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from oratio_voice.calls import Call
from oratio_voice.routes.twilio_auth import twilio_state
from oratio_voice.simulator.twilio_call import CallScript, Speak
from tests.integration.twilio_helpers import ACCOUNT, Phone, RawStream, phone_server
from tests.scripted_engine import ScriptedEngine, tone

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUESTION = "How many days do I have to return?"
LOUD = base64.b64encode(b"\x00" * 160).decode()  # mu-law 0x00: full scale
QUIET = base64.b64encode(b"\xff" * 160).decode()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def phone(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Phone]:
    """One server for the module: each test looks only at its own call."""
    data_dir = tmp_path_factory.mktemp("twilio") / "data"
    async with phone_server(data_dir, ScriptedEngine()) as running:
        yield running


async def post(url: str, params: dict[str, str], signature: str | None) -> httpx.Response:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    async with httpx.AsyncClient() as client:
        return await client.post(url, data=params, headers=headers)


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/status", "/twilio/stream-ended"])
async def test_webhooks_need_a_valid_signature(phone: Phone, path: str) -> None:
    url = phone.server.base_url + path
    params = {**phone.call().params, "CallStatus": "completed"}
    assert (await post(url, params, None)).status_code == 403
    assert (await post(url, params, "bm90IGl0")).status_code == 403
    assert (await post(url, params, ACCOUNT.sign(url + "x", params))).status_code == 403
    tampered = {**params, "To": "+15550000000"}
    assert (await post(url, tampered, ACCOUNT.sign(url, params))).status_code == 403
    other = type(ACCOUNT)(ACCOUNT.account_sid, "another-token")
    assert (await post(url, params, other.sign(url, params))).status_code == 403
    assert (await post(url, params, ACCOUNT.sign(url, params))).status_code in (200, 204)


async def test_without_an_auth_token_twilio_requests_are_refused(phone: Phone) -> None:
    state = twilio_state(phone.server.services)
    validator, state.validator = state.validator, None  # nothing configured, no demo token
    url = phone.server.base_url + "/twilio/voice"
    params = phone.call().params
    try:
        answer = await post(url, params, ACCOUNT.sign(url, params))
    finally:
        state.validator = validator
    assert answer.status_code == 503 and "ORATIO_TWILIO_AUTH_TOKEN" in answer.text


async def test_a_webhook_without_call_sid_is_a_bad_request(phone: Phone) -> None:
    url = phone.server.base_url + "/twilio/voice"
    params = {"To": "+15555550100"}
    assert (await post(url, params, ACCOUNT.sign(url, params))).status_code == 400


async def test_signatures_are_checked_against_the_public_url(
    tmp_path: Path, engine: ScriptedEngine
) -> None:
    public = "https://voice.example.com"
    async with phone_server(tmp_path / "data", engine, public_url=public) as phone:
        params = phone.call().params
        local = phone.server.base_url + "/twilio/voice"
        assert (await post(local, params, ACCOUNT.sign(local, params))).status_code == 403
        signed = ACCOUNT.sign(public + "/twilio/voice", params)
        answer = await post(local, params, signed)
        assert answer.status_code == 200
        stream = ET.fromstring(answer.text).find("Connect/Stream")
        assert stream is not None and stream.get("url") == "wss://voice.example.com/twilio/media"


@pytest.mark.parametrize("signature", [None, "d3Jvbmc=", "stream-url-of-another-host"])
async def test_an_unsigned_or_wrongly_signed_stream_is_refused_before_accepting(
    phone: Phone, signature: str | None
) -> None:
    raw = RawStream(phone)
    twiml = await raw.webhook()
    if signature == "stream-url-of-another-host":
        signature = ACCOUNT.sign("wss://evil.example/twilio/media")
    headers = {"X-Twilio-Signature": signature} if signature else {}
    with pytest.raises(InvalidStatus) as refused:
        await ws_connect(twiml.stream_url, additional_headers=headers)
    assert refused.value.response.status_code == 403
    assert raw.sim.report.call_sid not in twilio_state(phone.server.services).recent


@pytest.mark.parametrize(
    ("parameters", "code", "reason"),
    [
        ({"token": ""}, 4401, "missing"),
        ({"token": "eyJjIjoiQ0EifQ.forged"}, 4403, "signature"),
        ({"agent_id": "agt_someone_else"}, 4403, "agent_id"),
    ],
)
async def test_a_bad_stream_token_closes_the_stream(
    phone: Phone, parameters: dict[str, str], code: int, reason: str
) -> None:
    raw = RawStream(phone)
    await raw.start(**parameters)
    got, text = await raw.closed_with()
    assert got == code and reason in text
    assert raw.sim.report.call_sid not in twilio_state(phone.server.services).recent


async def test_an_expired_stream_token_closes_the_stream(phone: Phone) -> None:
    tokens = twilio_state(phone.server.services).tokens
    raw = RawStream(phone)
    ttl, tokens.ttl = tokens.ttl, -1.0
    try:
        await raw.webhook()
    finally:
        tokens.ttl = ttl
    await raw.start()
    assert await raw.closed_with() == (4401, "stream token expired")


async def test_a_replayed_stream_token_is_refused(phone: Phone) -> None:
    first = RawStream(phone)
    await first.start()
    await first.next_event("media")  # the greeting: the call is up
    replay = RawStream(phone)
    replay.sim = first.sim
    replay.twiml = first.twiml
    await replay.start()
    assert await replay.closed_with() == (4403, "stream token already used")
    calls = phone.server.services.live._calls.values()
    sid = first.sim.report.call_sid
    assert [c.record.metadata["twilio_call_sid"] for c in calls].count(sid) == 1
    assert first.ws is not None
    await first.ws.close()


@pytest.mark.parametrize("event", ["media", "dtmf"])
async def test_audio_before_start_breaks_the_protocol(phone: Phone, event: str) -> None:
    raw = RawStream(phone)
    ws = await raw.connect()
    early = (
        raw.media(QUIET)
        if event == "media"
        else json.dumps({"event": "dtmf", "dtmf": {"digit": "1"}})
    )
    await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    assert await raw.closed_with(early) == (4400, f"{event} before start")


async def test_an_unsupported_media_format_is_refused(phone: Phone) -> None:
    raw = RawStream(phone)
    ws = await raw.connect()
    await raw.webhook()
    start = json.loads(raw.start_message())
    start["start"]["mediaFormat"] = {"encoding": "audio/x-l16", "sampleRate": 16000}
    code, _ = await raw.closed_with(json.dumps(start))
    assert code == 4415
    await ws.close()


async def test_malformed_messages_are_skipped_and_the_call_goes_on(phone: Phone) -> None:
    phone.engine.utterances = [QUESTION]
    raw = RawStream(phone)
    ws = await raw.start()
    bad: list[str | bytes] = [
        "not json at all",
        '{"event": "media", "media": {"payload": "AAAA"',  # truncated
        raw.media("@@not-base64@@"),
        json.dumps({"event": "surprise", "streamSid": raw.stream_sid}),
        b"\x00\x01binary",
    ]
    for message in bad:
        await ws.send(message)
    await ws.send(raw.media(base64.b64encode(b"\xff" * 161).decode()))  # odd length: fine
    for payload in [LOUD] * 8 + [QUIET] * 3:
        await ws.send(raw.media(payload))
    mark = await raw.next_event("mark")
    while mark["mark"]["name"] != "turn-2":  # greeting, then the answer to the question
        mark = await raw.next_event("mark")
    call = _live_call(phone, raw)
    assert call.record.metadata["twilio_bad_messages"] == len(bad)
    assert phone.engine.sessions[-1].audio_bytes == 2 * (161 + 11 * 160)
    assert [t.text for t in call.turns if t.role == "caller"] == [QUESTION]
    await ws.close()


async def test_endless_garbage_closes_the_stream(phone: Phone) -> None:
    raw = RawStream(phone)
    await raw.start()
    code, reason = await raw.closed_with(*["garbage"] * 60)
    assert code == 4400 and "too many malformed messages" in reason


async def test_an_oversized_message_fails_the_stream_and_the_caller_goes_to_a_person(
    phone: Phone,
) -> None:
    phone.engine.utterances = [QUESTION]
    good = asyncio.ensure_future(
        phone.run(CallScript(steps=[Speak(tone(400, 8000, 300.0), "q")], linger=0.3))
    )
    raw = RawStream(phone)
    await raw.start()
    await raw.next_event("media")
    huge = raw.media(base64.b64encode(b"\xff" * 60_000).decode())
    code, reason = await raw.closed_with(huge)
    assert code == 4413 and "larger than" in reason
    failed = await phone.tenant.get_session(_session_id(phone, raw))
    assert failed.status == "failed" and failed.end_reason.startswith("protocol error")
    # Twilio then runs <Connect action>: the caller is put through to a person, not dropped.
    assert raw.twiml is not None
    after = await raw.sim.post(raw.twiml.action, raw.sim.params)
    root = ET.fromstring(after.text)
    assert [v.tag for v in root] == ["Say", "Enqueue"]
    handed = await phone.tenant.get_session(failed.id)
    assert handed.status == "handoff" and handed.handoff_reason.startswith("AI fault: protocol")
    notes = [n for n in await phone.tenant.list_notifications() if n.session_id == handed.id]
    assert [n.kind for n in notes] == ["handoff"]
    report = await good  # the other call kept streaming and got its answer
    assert report.ended_by == "caller" and len(report.marks) == 2


async def test_the_socket_dropping_mid_utterance_fails_the_session(phone: Phone) -> None:
    raw = RawStream(phone)
    ws = await raw.start()
    await raw.next_event("media")  # the greeting is playing
    session_id = _session_id(phone, raw)
    ws.transport.abort()  # no close frame, no stop
    async with asyncio.timeout(5):
        while (session := await phone.tenant.get_session(session_id)).ended_at is None:
            await asyncio.sleep(0.05)
    assert session.status == "failed" and session.end_reason == "media stream dropped"
    assert raw.twiml is not None
    after = await raw.sim.post(raw.twiml.action, raw.sim.params)
    assert ET.fromstring(after.text).findtext("Enqueue") == "support"


async def test_a_stream_the_ai_finished_hangs_up_after_the_stream(phone: Phone) -> None:
    report = await phone.run(CallScript(linger=0.2))
    assert report.twiml is not None
    answer = await phone.call().post(
        report.twiml.action, {**phone.call().params, "CallSid": report.call_sid}
    )
    assert ET.fromstring(answer.text)[0].tag == "Hangup"


def _live_call(phone: Phone, raw: RawStream) -> Call:
    state = twilio_state(phone.server.services)
    return state.live[raw.sim.report.call_sid]


def _session_id(phone: Phone, raw: RawStream) -> str:
    state = twilio_state(phone.server.services)
    return state.recent[raw.sim.report.call_sid].session_id

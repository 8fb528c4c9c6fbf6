"""The Media Streams codec and the connector's outbound side (media chunks, marks, clear)."""

from __future__ import annotations

import asyncio
import base64
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from connectors.base import TransferTarget
from connectors.twilio import (
    CHUNK,
    Connected,
    Ignored,
    Mark,
    ProtocolError,
    SoftError,
    Start,
    Stop,
    TwilioConnector,
    parse_event,
)
from connectors.twilio_rest import RestSettings, TwilioRest, operator_twiml, transfer_twiml
from pipeline.frames import (
    AgentTurnEndFrame,
    DTMFFrame,
    InputAudioFrame,
    InterruptionFrame,
    OutputAudioFrame,
    TranscriptFrame,
)
from pipeline.g711 import pcm_to_ulaw, ulaw_to_pcm


def media(payload: str, track: str = "inbound") -> str:
    return json.dumps({"event": "media", "media": {"track": track, "payload": payload}})


def start(**overrides: Any) -> str:
    body: dict[str, Any] = {
        "streamSid": "MZ1",
        "callSid": "CA1",
        "accountSid": "AC1",
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"agent_id": "agt_1", "token": "t"},
        **overrides,
    }
    return json.dumps({"event": "start", "streamSid": "MZ1", "start": body})


def test_media_decodes_mulaw_to_8khz_pcm_without_resampling() -> None:
    ulaw = bytes(range(160))
    frame = parse_event(media(base64.b64encode(ulaw).decode()))
    assert frame == InputAudioFrame(ulaw_to_pcm(ulaw), 8000)
    assert frame.duration_ms == 20


def test_odd_length_payload_is_whole_mulaw_samples() -> None:
    frame = parse_event(media(base64.b64encode(b"\x01\x02\x03").decode()))
    assert isinstance(frame, InputAudioFrame) and len(frame.pcm) == 6


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"event": "media", "media": {"payload": "AAAA"',  # truncated
        "[1, 2]",
        media("***not base64***"),
        media("AAA"),  # base64 of a bad length
        json.dumps({"event": "media", "media": {"payload": 5}}),
        json.dumps({"event": "media"}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "x"}}),
        json.dumps({"event": "mark", "mark": {}}),
        json.dumps({"event": "surprise"}),
        json.dumps({"no": "event"}),
    ],
)
def test_bad_messages_are_soft_errors(text: str) -> None:
    with pytest.raises(SoftError):
        parse_event(text)


def test_other_events() -> None:
    assert parse_event(json.dumps({"event": "connected", "protocol": "Call"})) == Connected("Call")
    assert parse_event(start()) == Start("MZ1", "CA1", "AC1", {"agent_id": "agt_1", "token": "t"})
    dtmf = json.dumps({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "0"}})
    assert parse_event(dtmf) == DTMFFrame("0")
    assert parse_event(json.dumps({"event": "mark", "mark": {"name": "turn-1"}})) == Mark("turn-1")
    stop = json.dumps({"event": "stop", "stop": {"callSid": "CA1"}})
    assert parse_event(stop) == Stop("CA1")
    assert parse_event(media("AAAA", track="outbound")) == Ignored()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (json.dumps({"event": "start"}), 4400),
        (start(callSid=None), 4400),
        (start(mediaFormat={"encoding": "audio/x-l16", "sampleRate": 16000}), 4415),
        (start(customParameters=["x"]), 4400),
    ],
)
def test_a_broken_start_is_a_protocol_error(text: str, code: int) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_event(text)
    assert error.value.code == code


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str | None] | None = None
        self.gate = asyncio.Event()
        self.gate.set()

    async def send_text(self, data: str) -> None:
        await self.gate.wait()
        self.sent.append(json.loads(data))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)


def connector(socket: FakeSocket) -> TwilioConnector:
    rest = TwilioRest(RestSettings("", ""))
    return TwilioConnector(socket, stream_sid="MZ1", call_sid="CA1", rest=rest)


def pcm(ms: int) -> bytes:
    return b"\x10\x00" * (8 * ms)


async def test_agent_audio_leaves_as_20ms_media_then_a_mark_per_utterance() -> None:
    socket = FakeSocket()
    line = connector(socket)
    line.send(TranscriptFrame("agent", "Hello there"))
    line.send(OutputAudioFrame(pcm(30), 8000))
    line.send(OutputAudioFrame(pcm(25), 8000))
    line.send(AgentTurnEndFrame())
    await line.close()
    kinds = [m["event"] for m in socket.sent]
    assert kinds == ["media", "media", "media", "mark"]
    payloads = [base64.b64decode(m["media"]["payload"]) for m in socket.sent[:3]]
    assert [len(p) for p in payloads] == [CHUNK, CHUNK, 440 - 2 * CHUNK]
    assert b"".join(payloads) == pcm_to_ulaw(pcm(55))
    assert all(m["streamSid"] == "MZ1" for m in socket.sent)
    assert socket.sent[3]["mark"] == {"name": "turn-1"}
    assert line.speaking
    heard: list[bool] = []
    line.on_heard = lambda: heard.append(True)
    assert line.mark_played("turn-1") == "Hello there"
    assert line.heard == ["Hello there"] and heard == [True] and not line.speaking
    assert line.mark_played("turn-1") is None  # echoed twice: counted once
    assert socket.closed == (1000, "")


async def test_barge_in_drops_queued_audio_and_sends_clear() -> None:
    socket = FakeSocket()
    socket.gate.clear()  # the writer is stalled: audio piles up
    line = connector(socket)
    line.send(TranscriptFrame("agent", "A long answer"))
    line.send(OutputAudioFrame(pcm(200), 8000))
    line.send(AgentTurnEndFrame())
    line.send(OutputAudioFrame(pcm(100), 8000))
    line.send(InterruptionFrame())
    socket.gate.set()
    await line.close()
    kinds = [m["event"] for m in socket.sent]
    assert "media" not in kinds[kinds.index("mark") :]
    assert kinds.count("clear") == 1 and kinds[-1] == "clear"
    assert line.mark_played("turn-1") == "A long answer"
    assert line.cut == ["A long answer"] and line.heard == []


async def test_a_stalled_stream_loses_audio_not_control_messages() -> None:
    socket = FakeSocket()
    socket.gate.clear()
    line = TwilioConnector(
        socket, stream_sid="MZ1", call_sid="CA1", rest=TwilioRest(RestSettings("", "")), max_queue=4
    )
    for _ in range(10):
        line.send(OutputAudioFrame(pcm(20), 8000))
    line.send(AgentTurnEndFrame("done"))
    socket.gate.set()
    await line.close()
    assert socket.sent[-1]["event"] == "mark"


def test_transfer_twiml_per_target() -> None:
    common = {"summary": "S", "reason": "R", "session_id": "ses_1", "whisper_url": "https://w"}
    queue = transfer_twiml(TransferTarget("support"), **common)
    assert queue == "<Response><Enqueue>support</Enqueue></Response>"
    workflow = ET.fromstring(transfer_twiml(TransferTarget("WW123"), **common))
    enqueue = workflow.find("Enqueue")
    assert enqueue is not None and enqueue.get("workflowSid") == "WW123"
    assert json.loads(enqueue.findtext("Task") or "") == {
        "session_id": "ses_1",
        "reason": "R",
        "summary": "S",
    }
    cold = ET.fromstring(transfer_twiml(TransferTarget("WW123", warm=False), **common))
    assert "summary" not in json.loads(cold.findtext("Enqueue/Task") or "")
    dial = ET.fromstring(transfer_twiml(TransferTarget(number="+15550100"), **common, say="Hold"))
    assert [v.tag for v in dial] == ["Say", "Dial"]
    number = dial.find("Dial/Number")
    assert number is not None and number.text == "+15550100" and number.get("url") == "https://w"
    sip = ET.fromstring(transfer_twiml(TransferTarget(number="sip:desk@pbx.example"), **common))
    assert sip.findtext("Dial/Sip") == "sip:desk@pbx.example"
    operator = ET.fromstring(operator_twiml("support", "https://w"))
    queue_verb = operator.find("Dial/Queue")
    assert queue_verb is not None and queue_verb.get("url") == "https://w"

"""The browser protocol codec: every client message parsed or refused with the right code."""

from __future__ import annotations

import json

import pytest

from connectors.browser import ProtocolError, SoftError, encode_frame, parse_hello, parse_message
from pipeline.frames import (
    DTMFFrame,
    EndFrame,
    InputAudioFrame,
    InterruptionFrame,
    OutputAudioFrame,
    TextInputFrame,
    TranscriptFrame,
)


def test_hello() -> None:
    hello = parse_hello(json.dumps({"type": "hello", "sample_rate": 48000, "resume": "tok"}))
    assert (hello.sample_rate, hello.resume) == (48000, "tok")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("nope", 4400),
        ("[1]", 4400),
        (json.dumps({"type": "text", "text": "x"}), 4400),
        (json.dumps({"type": "hello"}), 4400),
        (json.dumps({"type": "hello", "sample_rate": 16000.0}), 4400),
        (json.dumps({"type": "hello", "sample_rate": True}), 4400),
        (json.dumps({"type": "hello", "sample_rate": 22050}), 4415),
        (json.dumps({"type": "hello", "sample_rate": 16000, "resume": 5}), 4400),
    ],
)
def test_bad_hello(raw: str, code: int) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_hello(raw)
    assert error.value.code == code


def test_messages() -> None:
    assert parse_message(b"\x01\x00", 8000) == InputAudioFrame(b"\x01\x00", 8000)
    assert parse_message('{"type":"text","text":" hi "}', 8000) == TextInputFrame("hi")
    assert parse_message('{"type":"dtmf","digit":"#"}', 8000) == DTMFFrame("#")
    assert isinstance(parse_message('{"type":"bye"}', 8000), EndFrame)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x01",
        '{"type":"text","text":""}',
        '{"type":"text","text":5}',
        json.dumps({"type": "text", "text": "x" * 2001}),
        '{"type":"dtmf","digit":"12"}',
    ],
)
def test_soft_errors(raw: str | bytes) -> None:
    with pytest.raises(SoftError):
        parse_message(raw, 16000)


def test_unknown_type_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_message('{"type":"launch"}', 16000)


def test_encoding() -> None:
    assert encode_frame(OutputAudioFrame(b"\x00\x01", 16000)) == b"\x00\x01"
    assert json.loads(str(encode_frame(InterruptionFrame()))) == {"type": "flush"}
    caption = json.loads(str(encode_frame(TranscriptFrame("agent", "Hello", final=False))))
    assert caption == {"type": "transcript", "role": "agent", "text": "Hello", "final": False}
    assert encode_frame(InputAudioFrame(b"\x00\x00", 16000)) is None

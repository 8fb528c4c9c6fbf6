"""Nova Sonic event building and parsing, history rules (no streams involved)."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline.engines import nova_protocol as proto
from pipeline.engines.base import HistoryTurn, ToolSpec
from pipeline.engines.nova_protocol import MalformedEvent


def event(raw: bytes) -> tuple[str, dict[str, object]]:
    return proto.decode(raw)


def test_session_start_carries_inference_and_turn_detection() -> None:
    name, body = event(proto.session_start(proto.Inference(512, 0.8, 0.5), "HIGH"))
    assert name == "sessionStart"
    assert body == {
        "inferenceConfiguration": {"maxTokens": 512, "topP": 0.8, "temperature": 0.5},
        "turnDetectionConfiguration": {"endpointingSensitivity": "HIGH"},
    }


def test_prompt_start_tools_schema_is_a_json_string() -> None:
    schema = {"type": "object", "properties": {"question": {"type": "string"}}}
    tools = (ToolSpec("ask_agent", "Ask the business agent", schema),)
    name, body = event(proto.prompt_start("p1", "matthew", 8000, tools))
    assert name == "promptStart"
    spec = body["toolConfiguration"]["tools"][0]["toolSpec"]  # type: ignore[index]
    assert spec["name"] == "ask_agent"
    assert isinstance(spec["inputSchema"]["json"], str)
    assert json.loads(spec["inputSchema"]["json"]) == schema
    assert body["audioOutputConfiguration"] == {
        "mediaType": "audio/lpcm",
        "sampleRateHertz": 8000,
        "sampleSizeBits": 16,
        "channelCount": 1,
        "audioType": "SPEECH",
        "encoding": "base64",
        "voiceId": "matthew",
    }
    _, no_tools = event(proto.prompt_start("p1", "tiffany", 24000, ()))
    assert "toolConfiguration" not in no_tools


def test_audio_input_is_json_with_base64_pcm() -> None:
    prefix = proto.audio_input_prefix("p", "c")
    pcm = bytes(range(256)) * 2
    name, body = event(proto.audio_input(prefix, pcm))
    assert name == "audioInput"
    assert body["promptName"] == "p" and body["contentName"] == "c"
    assert base64.b64decode(str(body["content"])) == pcm


def test_tool_result_content_is_three_events_with_json_string() -> None:
    start, result, end = proto.tool_result_content("p", "c", "tool-1", {"answer": "Yes"})
    assert event(start)[1]["toolResultInputConfiguration"] == {
        "toolUseId": "tool-1",
        "type": "TEXT",
        "textInputConfiguration": {"mediaType": "text/plain"},
    }
    assert json.loads(str(event(result)[1]["content"])) == {"answer": "Yes"}
    assert event(end) == ("contentEnd", {"promptName": "p", "contentName": "c"})


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_supported_rates(rate: int) -> None:
    proto.check_rate(rate, "input")


@pytest.mark.parametrize("rate", [0, 11025, 22050, 44100, 48000])
def test_unsupported_rates_are_rejected(rate: int) -> None:
    with pytest.raises(ValueError, match="8000, 16000 or 24000"):
        proto.check_rate(rate, "output")


def test_history_starts_with_the_caller_and_merges_speakers() -> None:
    turns = [
        HistoryTurn("agent", "Hello, thanks for calling."),
        HistoryTurn("agent", "How can I help?"),
        HistoryTurn("caller", "My order is late."),
        HistoryTurn("caller", "  It was due Monday. "),
        HistoryTurn("agent", "Let me check."),
        HistoryTurn("caller", "   "),
    ]
    assert proto.prepare_history(turns) == [
        HistoryTurn("caller", "My order is late. It was due Monday."),
        HistoryTurn("agent", "Let me check."),
    ]
    assert proto.prepare_history([HistoryTurn("agent", "only the agent spoke")]) == []


def test_history_caps_each_message_and_the_total_keeping_the_newest() -> None:
    long = "é" * 40_000  # 80 KB of UTF-8
    clipped = proto.prepare_history([HistoryTurn("caller", long)])
    assert len(clipped[0].text.encode()) <= proto.MAX_HISTORY_MESSAGE_BYTES
    assert clipped[0].text == "é" * (proto.MAX_HISTORY_MESSAGE_BYTES // 2)

    turns = [
        HistoryTurn("caller" if i % 2 == 0 else "agent", f"{i:03d} " + "x" * 30_000)
        for i in range(12)
    ]
    kept = proto.prepare_history(turns)
    total = sum(len(turn.text.encode()) for turn in kept)
    assert total <= proto.MAX_HISTORY_TOTAL_BYTES
    assert kept[-1].text.startswith("011")  # the newest survives
    assert kept[0].role == "caller"  # after trimming, still starts with the caller
    assert [t.text[:3] for t in kept] == [f"{i:03d}" for i in range(12 - len(kept), 12)]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"nothing": {}}',
        b'{"event": {}}',
        b'{"event": {"a": {}, "b": {}}}',
        b'{"event": {"textOutput": "text"}}',
    ],
)
def test_decode_rejects_malformed_events(raw: bytes) -> None:
    with pytest.raises(MalformedEvent):
        proto.decode(raw)


def test_v1_interruption_marker() -> None:
    assert proto.is_v1_interruption('{ "interrupted" : true }')
    assert not proto.is_v1_interruption('{"interrupted": false}')
    assert not proto.is_v1_interruption("{not json")
    assert not proto.is_v1_interruption("I was interrupted")


def test_token_counts_prefer_deltas_then_totals() -> None:
    body = {
        "details": {
            "delta": {
                "input": {"speechTokens": 10, "textTokens": 2},
                "output": {"speechTokens": 7, "textTokens": 3},
            }
        },
        "totalInputTokens": 100,
        "totalOutputTokens": 50,
    }
    assert proto.token_counts(body, (0, 0)) == (12, 10)
    assert proto.token_counts({"totalInputTokens": 30, "totalOutputTokens": 9}, (20, 4)) == (10, 5)
    with pytest.raises(MalformedEvent):
        proto.token_counts({"details": {"delta": {"input": {"textTokens": "2"}}}}, (0, 0))
    with pytest.raises(MalformedEvent):
        proto.token_counts({}, (0, 0))

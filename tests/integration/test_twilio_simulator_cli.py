"""`oratio simulate twilio` end to end: the command places a call at a live server, answers its
REST transfer with its own emulator, and saves what the caller heard."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from oratio_voice.cli import main
from oratio_voice.simulator.cli import read_wav
from oratio_voice.simulator.twilio_call import Twiml
from tests.conftest import free_port, start_server
from tests.integration.twilio_helpers import ACCOUNT
from tests.scripted_engine import ScriptedEngine, tone


def write_wav(path: Path, pcm: bytes, rate: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)


async def test_the_command_calls_transfers_and_saves_the_audio(
    tmp_path: Path,
    engine: ScriptedEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rest_port = free_port()
    uv_server, task, live = await start_server(
        tmp_path / "data",
        engine,
        agent_runtime="inprocess",
        twilio_account_sid=ACCOUNT.account_sid,
        twilio_auth_token=ACCOUNT.auth_token,
        twilio_api_url=f"http://127.0.0.1:{rest_port}",
    )
    monkeypatch.setenv("ORATIO_TWILIO_AUTH_TOKEN", ACCOUNT.auth_token)
    monkeypatch.setenv("ORATIO_TWILIO_ACCOUNT_SID", ACCOUNT.account_sid)
    engine.utterances = ["I want to talk to a person"]
    speech, heard = tmp_path / "speech.wav", tmp_path / "heard.wav"
    write_wav(speech, tone(400, 16000, 300.0) * 2, 16000, channels=2)
    argv = ["simulate", "twilio", "--url", live.ws_url, "--wav", str(speech)]
    argv += ["--out", str(heard), "--rest-port", str(rest_port)]
    try:
        code = await asyncio.to_thread(main, argv)
    finally:
        uv_server.should_exit = True
        await asyncio.wait_for(task, 10)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "webhook answered: Connect Stream" in out
    assert "transferred: Enqueue support" in out
    assert "the server updated the call over Twilio REST" in out
    with wave.open(str(heard)) as saved:
        assert saved.getframerate() == 8000 and saved.getnframes() >= 8000


def test_read_wav_makes_8khz_mono(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    write_wav(path, tone(100, 16000) * 2, 16000, channels=2)
    assert abs(len(read_wav(path)) - 2 * 800) <= 2 * 16  # the resampler flushes its tail


def test_the_command_explains_a_missing_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ORATIO_TWILIO_AUTH_TOKEN", raising=False)
    assert main(["simulate", "twilio", "--data-dir", str(tmp_path)]) == 2
    assert "ORATIO_TWILIO_AUTH_TOKEN" in capsys.readouterr().err


def test_twiml_parser_reads_stream_and_parameters() -> None:
    xml = (
        '<Response><Connect action="https://x/a"><Stream url="wss://x/twilio/media">'
        '<Parameter name="agent_id" value="agt_1"/><Parameter name="token" value="t"/>'
        "</Stream></Connect></Response>"
    )
    twiml = Twiml.parse(xml)
    assert (twiml.stream_url, twiml.action) == ("wss://x/twilio/media", "https://x/a")
    assert twiml.parameters == {"agent_id": "agt_1", "token": "t"}

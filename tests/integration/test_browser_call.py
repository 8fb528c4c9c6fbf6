"""Browser calls over a real server on loopback (scripted speech engine, real everything else)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from websockets.exceptions import ConnectionClosed

from oratio_voice.keys import issue_key
from oratio_voice.models import Agent, Tenant, now
from tests.browser_client import ORIGIN, connect, expect, hello
from tests.conftest import LiveServer
from tests.scripted_engine import ScriptedEngine, tone


async def closed_with(url: str, *messages: str | bytes, origin: str = ORIGIN) -> tuple[int, str]:
    async with connect(url, origin) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                for message in messages:
                    await ws.send(message)
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_text_call_is_answered_from_the_sop_and_stored(server: LiveServer) -> None:
    async with connect(server.browser_url(), origin=ORIGIN) as ws:
        ready = await hello(ws)
        greeting = await expect(ws, "transcript", role="agent")
        assert "Northwind" in greeting["text"]
        await ws.send(json.dumps({"type": "text", "text": "How many days do I have to return?"}))
        await expect(ws, "transcript", role="caller", text="How many days do I have to return?")
        answer = await expect(ws, "transcript", role="agent")
        assert "30 days" in answer["text"]
        await ws.send(json.dumps({"type": "bye"}))
        await expect(ws, "end")
    tenant = server.services.store.tenant(server.demo_tenant)
    session = await tenant.get_session(ready["session_id"])
    assert session.status == "ended" and session.channel == "browser"
    turns = await tenant.list_turns(session.id)
    assert [t.role for t in turns] == ["agent", "caller", "agent"]
    assert turns[2].sources and "retail-returns.md" in turns[2].sources[0]


async def test_caller_audio_is_resampled_and_reaches_the_engine(
    server: LiveServer, engine: ScriptedEngine
) -> None:
    engine.utterances = ["what are your opening hours"]
    async with connect(server.browser_url(), origin=ORIGIN) as ws:
        await hello(ws, rate=48000)
        speech, silence = tone(200, 48000), bytes(48000 // 50 * 2)
        for start in range(0, len(speech), 1920):
            await ws.send(speech[start : start + 1920])
        for _ in range(10):
            await ws.send(silence)
        answer = await expect(ws, "transcript", role="agent", timeout=5)
        while "hours" not in answer["text"]:
            answer = await expect(ws, "transcript", role="agent", timeout=5)
        assert "Monday to Friday" in answer["text"]
        async with asyncio.timeout(5):  # the spoken answer follows its caption as PCM16
            while isinstance(audio := await ws.recv(), str):
                pass
        assert audio and len(audio) % 2 == 0
    # 48 kHz in, the engine hears 16 kHz: a third of the bytes.
    heard = engine.sessions[0].audio_bytes
    sent = len(speech) + 10 * len(silence)
    assert abs(heard - sent / 3) < 200


async def test_asking_for_a_person_hands_the_call_off(server: LiveServer) -> None:
    async with connect(server.browser_url(), origin=ORIGIN) as ws:
        ready = await hello(ws)
        await ws.send(json.dumps({"type": "text", "text": "I want to talk to a person"}))
        handoff = await expect(ws, "handoff", timeout=10)
        assert handoff["queue"] == "support"
        await expect(ws, "state", state="handed_off")
    tenant = server.services.store.tenant(server.demo_tenant)
    await asyncio.sleep(0.2)
    session = await tenant.get_session(ready["session_id"])
    assert session.status == "handoff"
    assert session.handoff_reason == "caller asked for a person"
    assert "talk to a person" in session.summary
    notes = await tenant.list_notifications()
    assert [n.session_id for n in notes] == [session.id]


async def test_dtmf_zero_transfers(server: LiveServer) -> None:
    async with connect(server.browser_url(), origin=ORIGIN) as ws:
        await hello(ws)
        await ws.send(json.dumps({"type": "dtmf", "digit": "0"}))
        handoff = await expect(ws, "handoff", timeout=10)
        assert handoff["reason"] == "caller pressed 0"


async def test_engine_that_cannot_open_sends_the_caller_to_a_person(
    server: LiveServer, engine: ScriptedEngine
) -> None:
    engine.fail_open = True
    async with connect(server.browser_url(), origin=ORIGIN) as ws:
        await hello(ws)
        handoff = await expect(ws, "handoff", timeout=2)
        assert handoff["reason"].startswith("AI fault")


async def test_resume_within_grace_keeps_the_same_session(server: LiveServer) -> None:
    ws = await connect(server.browser_url(), origin=ORIGIN)
    ready = await hello(ws)
    await ws.send(json.dumps({"type": "text", "text": "Can I exchange for a different size?"}))
    answer = await expect(ws, "transcript", role="agent")
    while "exchange" not in answer["text"].lower():
        answer = await expect(ws, "transcript", role="agent")
    ws.transport.abort()  # the network drops: no close frame
    await asyncio.sleep(0.2)
    async with connect(server.browser_url(), origin=ORIGIN) as again:
        resumed = await hello(again, resume=ready["resume_token"])
        assert resumed["resumed"] is True
        assert resumed["session_id"] == ready["session_id"]
        assert any("exchange" in t["text"] for t in resumed["transcript"])
        await again.send(json.dumps({"type": "text", "text": "and refunds?"}))
        await expect(again, "transcript", role="caller", text="and refunds?")


async def test_vanished_caller_ends_the_session_after_grace(server: LiveServer) -> None:
    ws = await connect(server.browser_url(), origin=ORIGIN)
    ready = await hello(ws)
    ws.transport.abort()
    tenant = server.services.store.tenant(server.demo_tenant)
    async with asyncio.timeout(5):
        while (await tenant.get_session(ready["session_id"])).status == "active":
            await asyncio.sleep(0.1)
    session = await tenant.get_session(ready["session_id"])
    assert session.status == "ended" and session.end_reason == "caller disconnected"
    async with connect(server.browser_url(), origin=ORIGIN) as late:
        await late.send(
            json.dumps({"type": "hello", "sample_rate": 16000, "resume": ready["resume_token"]})
        )
        with pytest.raises(ConnectionClosed) as closed:
            await late.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        (["not json"], 4400),
        ([json.dumps({"type": "text", "text": "hi"})], 4400),
        ([json.dumps({"type": "hello", "sample_rate": 11025})], 4415),
        ([json.dumps({"type": "hello", "sample_rate": "16000"})], 4400),
        ([b"\x00\x01"], 4400),
        ([json.dumps({"type": "hello", "sample_rate": 16000}), json.dumps({"type": "x"})], 4400),
        ([json.dumps({"type": "hello", "sample_rate": 16000}), b"\x00" * 70000], 4413),
    ],
)
async def test_malformed_messages_close_with_a_clear_code(
    server: LiveServer, messages: list[str | bytes], code: int
) -> None:
    got, reason = await closed_with(server.browser_url(), *messages)
    assert got == code and reason


async def test_soft_errors_keep_the_call(server: LiveServer) -> None:
    async with connect(server.browser_url(), origin=ORIGIN) as ws:
        await hello(ws)
        await ws.send(json.dumps({"type": "dtmf", "digit": "x"}))
        error = await expect(ws, "error")
        assert "dtmf" in error["message"]
        await ws.send(b"\x00\x00\x00")
        await expect(ws, "error")
        await ws.send(json.dumps({"type": "text", "text": "what are your opening hours"}))
        await expect(ws, "transcript", role="caller")


async def test_bad_keys_agents_and_origins_are_refused(server: LiveServer) -> None:
    store = server.services.store
    hi = json.dumps({"type": "hello", "sample_rate": 16000})
    assert (await closed_with(server.browser_url(key="nope"), hi))[0] == 4401
    forged = server.demo["api_key"][:-4] + "AAAA"
    assert (await closed_with(server.browser_url(key=forged), hi))[0] == 4401
    assert (await closed_with(server.browser_url(agent="agt_other"), hi))[0] == 4404

    tenant = store.tenant(server.demo_tenant)
    restricted, raw = issue_key(
        server.demo_tenant, server.demo["agent_id"], allowed_origins=["https://northwind.example"]
    )
    await tenant.put_api_key(restricted)
    assert (await closed_with(server.browser_url(key=raw), hi))[0] == 4403
    ok = await closed_with(server.browser_url(key=raw), "junk", origin="https://northwind.example")
    assert ok[0] == 4400  # past the origin check

    await tenant.put_api_key(restricted.model_copy(update={"revoked_at": now()}))
    assert (await closed_with(server.browser_url(key=raw), hi))[0] == 4401
    expired, raw_expired = issue_key(server.demo_tenant, server.demo["agent_id"])
    expired.expires_at = now() - timedelta(seconds=1)
    await tenant.put_api_key(expired)
    assert (await closed_with(server.browser_url(key=raw_expired), hi))[0] == 4401

    # Another tenant's key never opens this tenant's agent.
    await store.put_tenant(Tenant(id="ten_b", name="B"))
    await store.tenant("ten_b").put_agent(Agent(id="agt_b", tenant_id="ten_b", name="B"))
    other, raw_other = issue_key("ten_b", "agt_b")
    await store.tenant("ten_b").put_api_key(other)
    code, _ = await closed_with(server.browser_url(key=raw_other), hi)
    assert code == 4404


async def test_rate_limited_key(server: LiveServer) -> None:
    tenant = server.services.store.tenant(server.demo_tenant)
    limited, raw = issue_key(server.demo_tenant, server.demo["agent_id"], rate_limit_per_minute=1)
    await tenant.put_api_key(limited)
    async with connect(server.browser_url(key=raw), origin=ORIGIN) as ws:
        await hello(ws)
    hi = json.dumps({"type": "hello", "sample_rate": 16000})
    assert (await closed_with(server.browser_url(key=raw), hi))[0] == 4429


async def test_a_broken_call_does_not_disturb_another(server: LiveServer) -> None:
    async with connect(server.browser_url(), origin=ORIGIN) as good:
        ready = await hello(good)
        async with connect(server.browser_url(), origin=ORIGIN) as bad:
            await hello(bad)
            await bad.send("{broken")
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(5):
                    while True:
                        await bad.recv()
        await good.send(json.dumps({"type": "text", "text": "when will I get my refund"}))
        answer = await expect(good, "transcript", role="agent", timeout=5)
        while "refund" not in answer["text"].lower():
            answer = await expect(good, "transcript", role="agent", timeout=5)
    tenant = server.services.store.tenant(server.demo_tenant)
    sessions = await tenant.list_sessions()
    assert {s.status for s in sessions if s.id != ready["session_id"]} == {"ended"}


async def test_a_paused_agent_sends_callers_straight_to_a_person(server: LiveServer) -> None:
    tenant = server.services.store.tenant(server.demo_tenant)
    demo = await tenant.get_agent(server.demo["agent_id"])
    await tenant.put_agent(demo.model_copy(update={"status": "paused"}))
    async with connect(server.browser_url()) as ws:
        ready = await hello(ws)
        handoff = await expect(ws, "handoff", timeout=2)
        assert handoff["reason"] == "agent paused"
    session = await tenant.get_session(ready["session_id"])
    assert session.status == "handoff" and not await tenant.list_turns(session.id)


async def test_the_call_is_recorded_in_stereo(server: LiveServer) -> None:
    async with connect(server.browser_url()) as ws:
        ready = await hello(ws)
        for _ in range(10):
            await ws.send(tone(20, 16000))
        await ws.send(json.dumps({"type": "text", "text": "what are your opening hours"}))
        await expect(ws, "state", state="listening")
        await ws.send(json.dumps({"type": "bye"}))
        await expect(ws, "end")
    tenant = server.services.store.tenant(server.demo_tenant)
    session = await tenant.get_session(ready["session_id"])
    assert session.recording_key == f"{server.demo_tenant}/recordings/{session.id}.wav"
    wav = await server.services.blobs.get(session.recording_key)
    assert wav[:4] == b"RIFF" and wav[22] == 2  # two channels
    assert not list((server.data_dir / "recordings-in-progress").iterdir())

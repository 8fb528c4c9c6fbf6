"""Shared pieces of the Twilio integration tests: a server wired to a Twilio REST emulator,
and the simulator driving calls at it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from oratio_voice.demo import DEMO_NUMBER
from oratio_voice.models import CallSession
from oratio_voice.simulator.twilio_call import (
    CallReport,
    CallScript,
    SimulatedCall,
    TwilioAccount,
    Twiml,
    new_sid,
)
from oratio_voice.simulator.twilio_rest import TwilioRestEmulator
from tests.conftest import LiveServer, start_server
from tests.scripted_engine import ScriptedEngine

ACCOUNT = TwilioAccount("AC" + "7" * 32, "twilio-test-auth-token")


@dataclass
class Phone:
    """An Oratio server whose Twilio REST calls reach `rest`."""

    server: LiveServer
    rest: TwilioRestEmulator
    engine: ScriptedEngine

    @property
    def tenant(self) -> Any:
        return self.server.services.store.tenant(self.server.demo_tenant)

    def call(self, script: CallScript | None = None, number: str = DEMO_NUMBER) -> SimulatedCall:
        sim = SimulatedCall(self.server.base_url, number, ACCOUNT, script or CallScript())
        self.rest.register(sim)
        return sim

    async def run(self, script: CallScript | None = None, number: str = DEMO_NUMBER) -> CallReport:
        return await self.call(script, number).run()

    async def session_of(self, report: CallReport, final: bool = True) -> CallSession:
        """The session of a simulated call (waiting for it to be stored, and closed if `final`)."""
        async with asyncio.timeout(5):
            while True:
                for session in await self.tenant.list_sessions(channel="twilio", limit=200):
                    if session.metadata.get("twilio_call_sid") == report.call_sid and (
                        not final or session.ended_at is not None
                    ):
                        return session
                await asyncio.sleep(0.05)


@asynccontextmanager
async def phone_server(
    data_dir: Path, engine: ScriptedEngine, **settings: Any
) -> AsyncIterator[Phone]:
    rest = TwilioRestEmulator(ACCOUNT)
    await rest.start()
    options: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT.account_sid,
        "twilio_auth_token": ACCOUNT.auth_token,
        "twilio_api_url": rest.url,
        "resume_grace_seconds": 1.0,
        "agent_runtime": "inprocess",
        **settings,
    }
    uv_server, task, live = await start_server(data_dir, engine, **options)
    try:
        yield Phone(live, rest, engine)
    finally:
        uv_server.should_exit = True
        await asyncio.wait_for(task, 10)
        await rest.stop()


class RawStream:
    """A hand-driven Media Stream for the protocol's bad-input cases."""

    def __init__(self, phone: Phone, number: str = DEMO_NUMBER) -> None:
        self.sim = phone.call(number=number)
        self.base = phone.server.base_url
        self.stream_sid = new_sid("MZ")
        self.twiml: Twiml | None = None
        self.ws: ClientConnection | None = None

    async def webhook(self) -> Twiml:
        answer = await self.sim.post(f"{self.base}/twilio/voice", self.sim.params)
        assert answer.status_code == 200, answer.text
        self.twiml = Twiml.parse(answer.text)
        return self.twiml

    async def connect(self, signature: str | None = "sign") -> ClientConnection:
        twiml = self.twiml or await self.webhook()
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = ACCOUNT.sign(twiml.stream_url)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        self.ws = await ws_connect(twiml.stream_url, additional_headers=headers, max_queue=None)
        return self.ws

    def start_message(self, **parameters: str) -> str:
        assert self.twiml is not None
        start = {
            "accountSid": ACCOUNT.account_sid,
            "streamSid": self.stream_sid,
            "callSid": self.sim.report.call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {**self.twiml.parameters, **parameters},
        }
        return json.dumps({"event": "start", "streamSid": self.stream_sid, "start": start})

    def media(self, payload: str) -> str:
        media = {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload}
        return json.dumps({"event": "media", "streamSid": self.stream_sid, "media": media})

    async def start(self, **parameters: str) -> ClientConnection:
        ws = self.ws or await self.connect()
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(self.start_message(**parameters))
        return ws

    async def closed_with(self, *messages: str, timeout: float = 5) -> tuple[int, str]:
        """Send `messages`, then read until the server closes; its close code and reason."""
        assert self.ws is not None
        try:
            async with asyncio.timeout(timeout):
                for message in messages:
                    await self.ws.send(message)
                while True:
                    await self.ws.recv()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason
        raise AssertionError("the stream was not closed")

    async def next_event(self, kind: str, timeout: float = 5) -> dict[str, Any]:
        assert self.ws is not None
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if message["event"] == kind:
                    return message

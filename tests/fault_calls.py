"""AI faults injected into live calls, timed from the fault to the connector's transfer.

A real Oratio server on loopback runs the Nova Sonic engine on the protocol-checking double
(played by `ScriptedNovaModel`) and routes `ask_agent` to AgentCore through the real boto3 client
(ORATIO_AGENT_RUNTIME=agentcore, pointed at `AgentCoreEmulator`). Calls come in over the browser
WebSocket and over Twilio Media Streams (the Twilio simulator and its REST emulator). Used by
the integration tests and by `python -m tests.bench.fault_transfer`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oratio_voice.models import now
from oratio_voice.simulator.twilio_call import CallScript, Speak
from pipeline.engines.nova_protocol import NovaStreamError
from pipeline.engines.nova_sonic import NovaSonicEngine
from tests.agentcore_emulator import AgentCoreEmulator
from tests.browser_client import connect, expect, hello
from tests.integration.twilio_helpers import Phone, phone_server
from tests.nova_double import NovaDoubleStream, throttled
from tests.nova_model import ScriptedNovaModel, TimedNovaDouble
from tests.scripted_engine import tone

REGION = "us-east-1"
ARN = f"arn:aws:bedrock-agentcore:{REGION}:123456789012:runtime/oratio_demo-Fault0001"
AGENT_TIMEOUT = 1.0  # ORATIO_AGENT_TIMEOUT_SECONDS of the rig
QUESTION = "Where is my order?"
SPEECH = Speak(tone(400, 8000, 300.0), "caller speech")
# boto3 signs requests to the emulator; these never leave the machine.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}

FAULTS = {
    "engine_error": "engine stream error it cannot recover from (ValidationException)",
    "stream_lost": "engine stream lost, continuation refused (throttled x3)",
    "engine_open": "engine cannot open (AccessDenied)",
    "agent_timeout": f"agent runtime timeout ({AGENT_TIMEOUT:g} s)",
    "agent_5xx": "agent runtime 5xx (InternalServerException)",
    "tool_failures": "repeated tool failures (3 unknown-tool calls)",
}


class TimedRequests(list[tuple[str, dict[str, str]]]):
    """The Twilio REST emulator's request log, with the moment each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    def append(self, item: tuple[str, dict[str, str]]) -> None:
        self.at.append(time.monotonic())
        super().append(item)


@dataclass
class Transfer:
    kind: str
    channel: str
    ms: float
    reason: str


@dataclass
class FaultRig:
    phone: Phone
    double: TimedNovaDouble
    model: ScriptedNovaModel
    agentcore: AgentCoreEmulator
    requests: TimedRequests
    fault_at: float = 0.0

    @property
    def server(self) -> Any:
        return self.phone.server

    def reset(self) -> None:
        self.agentcore.reset()
        self.model.on_turn = None
        self.double.open_failures = []
        self.fault_at = 0.0

    def arm(self, kind: str) -> None:
        """Set the fault up: before the call (engine, agent) or at the caller's first turn."""
        self.reset()
        if kind == "engine_open":
            self.double.open_failures = [
                NovaStreamError("access_denied", "no access to the model", retryable=False)
            ]
        elif kind == "agent_timeout":
            self.agentcore.mode = "hang"
        elif kind == "agent_5xx":
            self.agentcore.mode = "error"
        elif kind in ("engine_error", "stream_lost", "tool_failures"):
            self.model.on_turn = lambda stream, _text: self._at_turn(kind, stream)
        else:
            raise ValueError(f"unknown fault {kind!r}")

    def _at_turn(self, kind: str, stream: NovaDoubleStream) -> bool:
        self.model.on_turn = None
        self.fault_at = time.monotonic()
        if kind == "engine_error":
            stream.fail(NovaStreamError("validation", "Invalid input request", retryable=False))
        elif kind == "stream_lost":
            self.double.open_failures = [throttled() for _ in range(3)]
            stream.end()  # the service drops the stream mid-turn; no fresh one can open
        else:
            for _ in range(3):
                stream.tool_use("lookup_order", {"order": "1234"})
        return True

    def detected_at(self, kind: str) -> float:
        """When the fault happened (or, for a timeout, the moment it became one)."""
        if kind == "engine_open":
            return self.double.refused_at[-1]
        if kind == "agent_timeout":
            return self.model.questions[-1][0] + AGENT_TIMEOUT
        if kind == "agent_5xx":
            return self.agentcore.errors_sent[-1]
        return self.fault_at

    async def browser_call(self, kind: str) -> Transfer:
        """A widget call: greeting, a typed question, the fault; timed to the `handoff` message."""
        self.arm(kind)
        async with connect(self.server.browser_url()) as ws:
            await hello(ws)
            if kind != "engine_open":
                await expect(ws, "transcript", role="agent", final=True)
                await ws.send(json.dumps({"type": "text", "text": QUESTION}))
            handoff = await expect(ws, "handoff", timeout=AGENT_TIMEOUT + 10)
            transferred = time.monotonic()
            await ws.send(json.dumps({"type": "bye"}))
        ms = (transferred - self.detected_at(kind)) * 1000
        return Transfer(kind, "browser", ms, str(handoff["reason"]))

    async def twilio_call(self, kind: str) -> Transfer:
        """A phone call: greeting, a spoken question, the fault; timed to the REST update that
        moves the call to <Enqueue>."""
        self.arm(kind)
        seen = len(self.requests)
        report = await self.phone.run(CallScript(steps=[SPEECH], quiet_timeout=5.0, linger=3.0))
        for index in range(seen, len(self.requests)):
            call_sid, fields = self.requests[index]
            if call_sid == report.call_sid and "<Enqueue>" in fields.get("Twiml", ""):
                ms = (self.requests.at[index] - self.detected_at(kind)) * 1000
                session = await self.phone.session_of(report)
                return Transfer(kind, "twilio", ms, session.handoff_reason)
        raise AssertionError(f"{kind}: the call was not transferred ({report.ended_by})")


@asynccontextmanager
async def fault_rig(data_dir: Path) -> AsyncIterator[FaultRig]:
    """The server, its Nova double and AgentCore emulator (AWS credentials: FAKE_AWS_ENV)."""
    agentcore = AgentCoreEmulator()
    await agentcore.start()
    double = TimedNovaDouble()
    model = ScriptedNovaModel(double)
    engine = NovaSonicEngine(REGION, transport_factory=double)
    settings: dict[str, Any] = {
        "agent_runtime": "agentcore",
        "aws_region": REGION,
        "agentcore_endpoint_url": agentcore.url,
        "agent_timeout_seconds": AGENT_TIMEOUT,
    }
    try:
        async with phone_server(data_dir, engine, **settings) as phone:  # type: ignore[arg-type]
            requests = TimedRequests()
            phone.rest.requests = requests
            tenant = phone.tenant
            agent = await tenant.get_agent(phone.server.demo["agent_id"])
            await tenant.put_agent(
                agent.model_copy(update={"runtime_arn": ARN, "updated_at": now()})
            )
            yield FaultRig(phone, double, model, agentcore, requests)
    finally:
        await agentcore.stop()

"""One simulated phone call, played the way Twilio plays it: signed voice webhook, TwiML,
signed Media Stream handshake, 20 ms real-time mu-law media, marks echoed once their audio has
"played", DTMF, stop; then the status callback or the <Connect action> when the server ends it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pipeline.g711 import pcm_to_ulaw, ulaw_to_pcm

RATE = 8000
CHUNK = 160  # 20 ms of mu-law
TICK = CHUNK / RATE
SILENCE = b"\xff" * CHUNK  # mu-law zero


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    account_sid: str
    auth_token: str

    def sign(self, url: str, params: dict[str, str] | None = None) -> str:
        return str(RequestValidator(self.auth_token).compute_signature(url, params or {}))


@dataclass(frozen=True, slots=True)
class Speak:
    """The caller says something: PCM16 at 8 kHz."""

    pcm: bytes
    label: str = ""


@dataclass(frozen=True, slots=True)
class Press:
    digits: str


CallStep = Speak | Press


@dataclass
class CallScript:
    """What the caller does: each step once the agent has finished speaking."""

    steps: Sequence[CallStep] = ()
    caller: str = "+15550001111"
    quiet_timeout: float = 10.0  # longest wait for the agent to finish speaking
    linger: float = 1.5  # quiet seconds after the last step before the caller hangs up
    status_callback: bool = True


@dataclass(frozen=True, slots=True)
class Twiml:
    """The parts of a TwiML answer the simulator acts on."""

    xml: str
    stream_url: str = ""
    action: str = ""
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, xml: str) -> Twiml:
        root = ET.fromstring(xml)
        stream = root.find("./Connect/Stream")
        if stream is None:
            return cls(xml)
        connect = root.find("./Connect")
        parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("./Parameter")}
        action = connect.get("action", "") if connect is not None else ""
        return cls(xml, stream.get("url", ""), action, parameters)

    def describe(self) -> str:
        root = ET.fromstring(self.xml)
        parts = []
        for verb in root:
            text = (verb.text or "").strip()
            inner = " ".join(f"{child.tag} {(child.text or '').strip()}".strip() for child in verb)
            parts.append(" ".join(p for p in (verb.tag, text, inner) if p))
        return "; ".join(parts) or "(empty)"


@dataclass
class CallReport:
    call_sid: str
    number: str
    twiml: Twiml | None = None
    stream_sid: str = ""
    events: list[tuple[float, str]] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)  # agent audio, PCM16 8 kHz
    marks: list[str] = field(default_factory=list)  # echoed, in order
    utterance_ends: dict[str, int] = field(default_factory=dict)  # mark -> bytes of `received`
    clears: int = 0
    media_sent: int = 0
    rest_updates: list[dict[str, str]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    ended_by: str = ""  # caller | rest | server | refused
    after_stream: Twiml | None = None  # what <Connect action> answered
    error: str = ""

    @property
    def redirected_to(self) -> str:
        """The TwiML the server put the call on over REST (a transfer), if any."""
        return next((u["Twiml"] for u in self.rest_updates if "Twiml" in u), "")

    @property
    def heard_seconds(self) -> float:
        return len(self.received) / 2 / RATE

    def utterances(self) -> list[tuple[str, bytes]]:
        """The agent's utterances (mark name, PCM16 8 kHz), split where its marks were sent."""
        parts, start = [], 0
        for name, end in self.utterance_ends.items():
            parts.append((name, bytes(self.received[start:end])))
            start = end
        return parts


class SimulatedCall:
    """Twilio's side of one call against an Oratio server at `base_url`."""

    def __init__(
        self, base_url: str, number: str, account: TwilioAccount, script: CallScript
    ) -> None:
        self.base_url = (
            base_url.rstrip("/").replace("ws://", "http://").replace("wss://", "https://")
        )
        self.account = account
        self.script = script
        self.report = CallReport(new_sid("CA"), number)
        self.done = asyncio.Event()
        self._started = time.monotonic()
        self._ws: ClientConnection | None = None
        self._outgoing: deque[bytes] = deque()
        self._play_until = 0.0
        self._pending_marks: list[tuple[float, str]] = []
        self._sequence = 0
        self._silent = False

    def log(self, text: str) -> None:
        self.report.events.append((time.monotonic() - self._started, text))

    @property
    def params(self) -> dict[str, str]:
        r = self.report
        return {
            "AccountSid": self.account.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": r.call_sid,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "From": self.script.caller,
            "To": r.number,
        }

    async def post(self, url: str, params: dict[str, str]) -> httpx.Response:
        """A signed Twilio webhook request."""
        headers = {"X-Twilio-Signature": self.account.sign(url, params)}
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, data=params, headers=headers)

    async def run(self) -> CallReport:
        try:
            answer = await self.post(f"{self.base_url}/twilio/voice", self.params)
            if answer.status_code != 200:
                self.report.error = f"webhook answered HTTP {answer.status_code}: {answer.text}"
                self.report.ended_by = "refused"
                return self.report
            twiml = self.report.twiml = Twiml.parse(answer.text)
            self.log(f"webhook answered: {twiml.describe()}")
            if twiml.stream_url:
                await self._stream(twiml)
        except (OSError, httpx.HTTPError) as exc:
            self.report.error = f"cannot reach {self.base_url}: {exc}"
        return self.report

    # the Media Stream ----------------------------------------------------------------

    async def _stream(self, twiml: Twiml) -> None:
        url = twiml.stream_url
        headers = {"X-Twilio-Signature": self.account.sign(url)}
        try:
            self._ws = await ws_connect(url, additional_headers=headers, max_queue=None)
        except InvalidStatus as exc:
            self.report.error = f"stream handshake refused: HTTP {exc.response.status_code}"
            self.report.ended_by = "refused"
            return
        self.report.stream_sid = new_sid("MZ")
        self.log(f"media stream open ({self.report.stream_sid})")
        await self._send_json(event="connected", protocol="Call", version="1.0.0")
        await self._send_json(event="start", start=self._start_body(twiml))
        tasks = [
            asyncio.ensure_future(self._media_clock()),
            asyncio.ensure_future(self._receive()),
            asyncio.ensure_future(self._caller()),
        ]
        await self.done.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._ws.close()
        await self._after_stream(twiml)

    def _start_body(self, twiml: Twiml) -> dict[str, Any]:
        return {
            "accountSid": self.account.account_sid,
            "streamSid": self.report.stream_sid,
            "callSid": self.report.call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
            "customParameters": twiml.parameters,
        }

    async def _send_json(self, **message: Any) -> None:
        assert self._ws is not None
        self._sequence += 1
        body = {"sequenceNumber": str(self._sequence), "streamSid": self.report.stream_sid}
        await self._ws.send(json.dumps({**message, **body}))

    async def _media_clock(self) -> None:
        """Every 20 ms: one chunk of the caller's line (speech or silence), and the marks whose
        audio has finished playing go back."""
        loop = asyncio.get_running_loop()
        tick = loop.time()
        with contextlib.suppress(ConnectionClosed):
            while not self._silent:
                chunk = self._outgoing.popleft() if self._outgoing else SILENCE
                media = {
                    "track": "inbound",
                    "chunk": str(self.report.media_sent + 1),
                    "timestamp": str(self.report.media_sent * 20),
                    "payload": base64.b64encode(chunk).decode(),
                }
                await self._send_json(event="media", media=media)
                self.report.media_sent += 1
                await self._echo_marks(time.monotonic())
                tick += TICK
                await asyncio.sleep(max(0.0, tick - loop.time()))

    async def _echo_marks(self, moment: float) -> None:
        while self._pending_marks and self._pending_marks[0][0] <= moment:
            _, name = self._pending_marks.pop(0)
            self.report.marks.append(name)
            self.log(f"agent utterance played to the end (mark {name})")
            await self._send_json(event="mark", mark={"name": name})

    async def _receive(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                self._on_message(json.loads(raw))
        except ConnectionClosed:
            pass
        if not self.done.is_set():
            r = self.report
            received = self._ws.protocol.close_rcvd
            r.close_code = received.code if received else 1006
            r.close_reason = received.reason if received else ""
            r.ended_by = r.ended_by or "server"
            self.log(f"server closed the stream ({r.close_code} {r.close_reason})")
            self.done.set()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("event")
        moment = time.monotonic()
        if kind == "media":
            ulaw = base64.b64decode(message["media"]["payload"])
            if self._play_until <= moment:
                self.log("agent speaking")
            self._play_until = max(self._play_until, moment) + len(ulaw) / RATE
            self.report.received += ulaw_to_pcm(ulaw)
        elif kind == "mark":
            name = str(message["mark"]["name"])
            self.report.utterance_ends[name] = len(self.report.received)
            self._pending_marks.append((self._play_until, name))
        elif kind == "clear":  # barge-in: unplayed audio is dropped, pending marks return now
            r = self.report
            r.clears += 1
            unplayed = max(0, int((self._play_until - moment) * RATE)) * 2
            del r.received[len(r.received) - unplayed :]
            for name, end in r.utterance_ends.items():
                r.utterance_ends[name] = min(end, len(r.received))
            self.log(f"server cleared the agent audio (barge-in, {unplayed / 2 / RATE:.2f} s cut)")
            self._play_until = moment
            self._pending_marks = [(moment, name) for _, name in self._pending_marks]

    async def _caller(self) -> None:
        """The caller's side: wait for the greeting, then each step after the agent is quiet."""
        script = self.script
        await self._agent_quiet(0)
        for step in script.steps:
            heard = len(self.report.marks)
            if isinstance(step, Speak):
                ulaw = pcm_to_ulaw(step.pcm[: len(step.pcm) // 2 * 2])
                self.log(f"caller speaks {step.label!r} ({len(ulaw) / RATE:.1f} s)")
                self._outgoing.extend(ulaw[i : i + CHUNK] for i in range(0, len(ulaw), CHUNK))
                while self._outgoing:
                    await asyncio.sleep(TICK)
            else:
                for digit in step.digits:
                    self.log(f"caller presses {digit}")
                    await self._send_json(
                        event="dtmf", dtmf={"track": "inbound_track", "digit": digit}
                    )
            await self._agent_quiet(heard)
        await asyncio.sleep(script.linger)
        await self.hang_up()

    async def _agent_quiet(self, heard: int) -> None:
        """Until a new utterance was heard to its end and nothing plays; gives up after
        `quiet_timeout` seconds in which the agent sent nothing and nothing played."""
        since = time.monotonic()
        while True:
            moment = time.monotonic()
            idle = not self._pending_marks and self._play_until <= moment
            if len(self.report.marks) > heard and idle:
                return
            if moment - max(since, self._play_until) > self.script.quiet_timeout:
                self.log("the agent said nothing new")
                return
            await asyncio.sleep(TICK)

    async def hang_up(self) -> None:
        """The caller hangs up: Twilio sends stop and closes the stream."""
        if self.done.is_set() or self._silent:
            return
        self.report.ended_by = "caller"
        self.log("caller hangs up")
        await self._stop()

    async def rest_update(self, fields: dict[str, str]) -> None:
        """The server updated this call over Twilio REST (new TwiML, or completed)."""
        self.report.rest_updates.append(fields)
        if "Twiml" in fields:
            self.log(f"Twilio REST: call now runs {Twiml(fields['Twiml']).describe()}")
        elif fields.get("Status") == "completed":
            self.log("Twilio REST: the server hung up the call")
        if self.done.is_set():
            return
        self.report.ended_by = "rest"
        await self._stop()

    def vanish(self) -> None:
        """The call ends on Twilio's side without a `stop` (a carrier drop): the line goes
        quiet and the socket stays open until the server closes it."""
        self.report.ended_by = "twilio"
        self._silent = True
        self.log("the line went dead (no stop)")

    @property
    def live(self) -> bool:
        return self._ws is not None and not self.done.is_set()

    async def _stop(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            stop = {"accountSid": self.account.account_sid, "callSid": self.report.call_sid}
            await self._send_json(event="stop", stop=stop)
        self.done.set()

    async def _after_stream(self, twiml: Twiml) -> None:
        """Twilio goes on once the stream is over: the status callback, or <Connect action>."""
        r = self.report
        if r.ended_by == "server" and twiml.action:
            params = {**self.params, "CallStatus": "in-progress"}
            answer = await self.post(twiml.action, params)
            if answer.status_code == 200:
                r.after_stream = Twiml.parse(answer.text)
                self.log(f"after the stream: {r.after_stream.describe()}")
            else:
                self.log(f"<Connect action> answered HTTP {answer.status_code}")
        transferred = r.redirected_to or (r.after_stream and "Hangup" not in r.after_stream.xml)
        if self.script.status_callback and not transferred and r.ended_by != "twilio":
            duration = str(round(time.monotonic() - self._started))
            params = {**self.params, "CallStatus": "completed", "CallDuration": duration}
            await self.post(f"{self.base_url}/twilio/status", params)
            self.log("call completed")

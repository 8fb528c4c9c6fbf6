"""Twilio connector: the Media Streams WebSocket protocol (8 kHz mu-law JSON messages) <-> frames,
and transfer / hang-up of the live call through Twilio REST (connectors/twilio_rest.py)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.base import ProtocolError, SoftError, TransferTarget, json_object
from connectors.twilio_rest import TwilioRest, transfer_twiml
from connectors.writer import SocketWriter
from pipeline.frames import (
    AgentTurnEndFrame,
    DTMFFrame,
    Frame,
    InputAudioFrame,
    InterruptionFrame,
    OutputAudioFrame,
    TranscriptFrame,
)
from pipeline.g711 import pcm_to_ulaw, ulaw_to_pcm

log = logging.getLogger(__name__)

RATE = 8000  # Media Streams audio: 8 kHz mono mu-law, both ways
CHUNK = 160  # bytes of mu-law in one outbound media message: 20 ms
DTMF_DIGITS = frozenset("0123456789*#ABCD")


@dataclass(frozen=True, slots=True)
class Connected:
    protocol: str = ""


@dataclass(frozen=True, slots=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Mark:
    name: str


@dataclass(frozen=True, slots=True)
class Stop:
    call_sid: str = ""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed message with nothing for the call (e.g. the outbound track)."""


StreamEvent = Connected | Start | Mark | Stop | Ignored | InputAudioFrame | DTMFFrame


def parse_event(text: str) -> StreamEvent:
    """One message from Twilio. Caller audio and digits come back as frames, ready to push."""
    message = json_object(text, SoftError)
    kind = message.get("event")
    if kind == "media":
        return _media(message.get("media"))
    if kind == "dtmf":
        dtmf = message.get("dtmf")
        digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
        if not isinstance(digit, str) or digit not in DTMF_DIGITS:
            raise SoftError(f"dtmf.digit must be one of 0-9 * # A-D, got {digit!r}")
        return DTMFFrame(digit)
    if kind == "mark":
        mark = message.get("mark")
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            raise SoftError("mark.name must be a string")
        return Mark(name)
    if kind == "start":
        return _start(message)
    if kind == "stop":
        stop = message.get("stop")
        call_sid = stop.get("callSid", "") if isinstance(stop, dict) else ""
        return Stop(str(call_sid))
    if kind == "connected":
        return Connected(str(message.get("protocol", "")))
    raise SoftError(f"unknown event {kind!r}")


def _media(media: Any) -> InputAudioFrame | Ignored:
    if not isinstance(media, dict):
        raise SoftError("media must be an object")
    if media.get("track", "inbound") not in ("inbound", "inbound_track"):
        return Ignored()
    payload = media.get("payload")
    if not isinstance(payload, str):
        raise SoftError("media.payload must be a base64 string")
    try:
        ulaw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise SoftError("media.payload is not valid base64") from None
    # mu-law is one byte a sample: any byte count (odd included) is whole samples.
    return InputAudioFrame(ulaw_to_pcm(ulaw), RATE)


def _start(message: dict[str, Any]) -> Start:
    start = message.get("start")
    if not isinstance(start, dict):
        raise ProtocolError("start must carry a start object")
    stream_sid = start.get("streamSid") or message.get("streamSid")
    call_sid = start.get("callSid")
    if not isinstance(stream_sid, str) or not stream_sid or not isinstance(call_sid, str):
        raise ProtocolError("start needs streamSid and callSid")
    media_format = start.get("mediaFormat") or {}
    if not isinstance(media_format, dict):
        raise ProtocolError("start.mediaFormat must be an object")
    encoding = media_format.get("encoding", "audio/x-mulaw")
    rate = media_format.get("sampleRate", RATE)
    if encoding != "audio/x-mulaw" or rate != RATE or media_format.get("channels", 1) != 1:
        raise ProtocolError(f"unsupported media format {media_format}", code=4415)
    raw = start.get("customParameters") or {}
    if not isinstance(raw, dict):
        raise ProtocolError("start.customParameters must be an object")
    parameters = {str(k): str(v) for k, v in raw.items()}
    return Start(stream_sid, call_sid, str(start.get("accountSid", "")), parameters)


class Socket(Protocol):
    """The part of a WebSocket the connector uses (Starlette's WebSocket fits)."""

    async def send_text(self, data: str) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class TwilioConnector:
    """One Media Stream. Outbound messages go through a queue to a writer task.

    Agent audio leaves as 20 ms mu-law `media` messages; after each agent utterance a `mark`
    follows, and Twilio echoes it once the caller has heard everything before it, so `heard`
    lists the utterances the caller actually heard and `cut` those a barge-in (`clear`) cut off.
    """

    channel = "twilio"

    def __init__(
        self,
        socket: Socket,
        *,
        stream_sid: str,
        call_sid: str,
        rest: TwilioRest,
        session_id: str = "",
        whisper_url: str = "",
        max_queue: int = 6000,
    ) -> None:
        self.socket = socket
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.rest = rest
        self.session_id = session_id
        self.whisper_url = whisper_url
        self.heard: list[str] = []
        self.cut: list[str] = []
        self.transferred = False
        self.on_heard: Callable[[], None] | None = None
        self._head = '{"event":"media","streamSid":' + json.dumps(stream_sid)
        self._pending = b""  # mu-law short of a whole chunk
        self._utterance = ""
        self._marks: dict[str, str] = {}  # mark name -> utterance, sent and not yet echoed
        self._cleared: set[str] = set()
        self._turns = 0
        self._closed = False
        self._writer = SocketWriter(self._send, self._is_media, max_queue)

    # frames -> wire ------------------------------------------------------------------

    def send(self, frame: Frame) -> None:
        if type(frame) is OutputAudioFrame:
            self._audio(frame)
        elif isinstance(frame, AgentTurnEndFrame):
            self._end_utterance(frame.text or self._utterance)
        elif isinstance(frame, TranscriptFrame):
            if frame.role == "agent" and frame.final:
                self._utterance = frame.text
        elif isinstance(frame, InterruptionFrame):
            self._barge_in()

    def _audio(self, frame: OutputAudioFrame) -> None:
        if frame.sample_rate != RATE:  # the call resamples to the wire rate; never play it wrong
            log.warning("call %s: dropped %d Hz agent audio", self.call_sid, frame.sample_rate)
            return
        pcm = frame.pcm if not len(frame.pcm) % 2 else frame.pcm[:-1]
        ulaw = self._pending + pcm_to_ulaw(pcm)
        end = len(ulaw) - len(ulaw) % CHUNK
        for start in range(0, end, CHUNK):
            self._put(self._media(ulaw[start : start + CHUNK]))
        self._pending = ulaw[end:]

    def _media(self, ulaw: bytes) -> str:
        return f'{self._head},"media":{{"payload":"{base64.b64encode(ulaw).decode()}"}}}}'

    def _end_utterance(self, text: str) -> None:
        if self._pending:
            self._put(self._media(self._pending))
            self._pending = b""
        self._turns += 1
        name = f"turn-{self._turns}"
        self._marks[name] = text
        self._utterance = ""
        self._put(self._control("mark", mark={"name": name}))

    def _barge_in(self) -> None:
        self._pending = b""
        self._writer.drop_audio()
        self._cleared.update(self._marks)  # Twilio echoes them at once; nobody heard them
        self._put(self._control("clear"))

    def _control(self, event: str, **body: Any) -> str:
        message = {"event": event, "streamSid": self.stream_sid, **body}
        return json.dumps(message, separators=(",", ":"))

    # wire -> bookkeeping -------------------------------------------------------------

    def mark_played(self, name: str) -> str | None:
        """Twilio echoed a mark: the utterance before it finished playing (or was cleared)."""
        text = self._marks.pop(name, None)
        if text is None:
            return None
        if name in self._cleared:
            self._cleared.discard(name)
            self.cut.append(text)
        else:
            self.heard.append(text)
        if not self._marks and self.on_heard is not None:
            self.on_heard()
        return text

    @property
    def speaking(self) -> bool:
        """Agent audio was sent that Twilio has not finished playing."""
        return bool(self._marks) or bool(self._pending)

    # call control --------------------------------------------------------------------

    async def transfer(self, target: TransferTarget, reason: str, summary: str) -> None:
        """Replace the call's TwiML: Twilio stops the stream and connects the caller to a person."""
        twiml = transfer_twiml(
            target,
            summary=summary,
            reason=reason,
            session_id=self.session_id,
            whisper_url=self.whisper_url,
        )
        await self.rest.redirect(self.call_sid, twiml)
        self.transferred = True

    async def hangup(self, reason: str) -> None:
        """End the phone call, not only the stream; if REST cannot, closing the stream lets
        the TwiML after <Connect> decide (see the stream-ended route)."""
        if self._closed:
            return
        try:
            await self.rest.complete(self.call_sid)
        except Exception as exc:
            log.warning("call %s: hang-up over REST failed: %s", self.call_sid, exc)
        await self.close(1000, reason)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Flush what is queued, then close the socket."""
        if self._closed:
            return
        self._closed = True
        await self._writer.flush()
        with contextlib.suppress(Exception):
            await self.socket.close(code, reason[:120])

    def abandon(self) -> None:
        """The socket is gone: stop writing to it."""
        self._closed = True
        self._writer.abandon()

    # plumbing ------------------------------------------------------------------------

    def _put(self, item: str) -> None:
        self._writer.put(item)

    def _is_media(self, item: str | bytes) -> bool:
        return isinstance(item, str) and item.startswith(self._head)

    async def _send(self, item: str | bytes) -> None:
        await self.socket.send_text(item if isinstance(item, str) else item.decode())

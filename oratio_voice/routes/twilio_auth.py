"""Twilio edge security and per-process state: the public URL Twilio signed, signature checks,
single-use Media Stream tokens, and the live calls by CallSid."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import URL
from twilio.request_validator import RequestValidator

from connectors.twilio_rest import RestSettings, TwilioRest
from oratio_voice.calls import Call
from oratio_voice.config import Settings
from oratio_voice.services import Services

RECENT_CALLS = 10_000  # CallSids remembered after their call ended (status callbacks, whisper)


class TokenRejected(Exception):
    """A Media Stream token that is missing, forged, expired or already used."""

    def __init__(self, message: str, code: int = 4401) -> None:
        super().__init__(message)
        self.code = code


def public_url(url: URL, headers: Mapping[str, str], settings: Settings) -> str:
    """The URL Twilio requested: ORATIO_PUBLIC_URL, else X-Forwarded-Proto/Host, else as seen.
    WebSocket URLs keep ws/wss schemes (https -> wss)."""
    websocket = url.scheme in ("ws", "wss")
    path = url.path + (f"?{url.query}" if url.query else "")
    if settings.public_url:
        base = settings.public_url.rstrip("/")
    else:
        proto = headers.get("x-forwarded-proto", "").split(",")[0].strip()
        host = headers.get("x-forwarded-host", "").split(",")[0].strip() or url.netloc
        base = f"{proto or url.scheme}://{host}"
    if websocket:
        base = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    else:
        base = base.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
    return base + path


def http_base(url: str) -> str:
    """scheme://host of a public URL, as http(s) (for webhook URLs we give Twilio)."""
    scheme, _, rest = url.partition("://")
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{rest.split('/', 1)[0]}"


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """What a valid stream token allows: this call, to this agent, until `expires`."""

    call_sid: str
    agent_id: str
    tenant_id: str
    caller: str
    expires: float
    nonce: str


class StreamTokens:
    """Short-lived, single-use stream tokens: HMAC-SHA256 over CallSid, agent, expiry, nonce.

    The key is derived from the auth token, so every server instance shares it without
    another secret; a used nonce is remembered (in this process) until the token expires."""

    def __init__(self, auth_token: str, ttl: float) -> None:
        self._key = hmac.new(auth_token.encode(), b"oratio stream token v1", "sha256").digest()
        self.ttl = ttl
        self._used: dict[str, float] = {}

    def issue(self, *, call_sid: str, agent_id: str, tenant_id: str, caller: str) -> str:
        body = {
            "c": call_sid,
            "a": agent_id,
            "t": tenant_id,
            "f": caller,
            "e": round(time.time() + self.ttl, 3),
            "n": secrets.token_urlsafe(12),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def redeem(self, token: str, call_sid: str) -> StreamGrant:
        """The grant of a valid token, spending it; TokenRejected otherwise."""
        payload, _, signature = token.partition(".")
        if not payload or not signature:
            raise TokenRejected("missing or malformed stream token")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise TokenRejected("stream token signature is wrong", code=4403)
        try:
            body: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
            grant = StreamGrant(
                call_sid=str(body["c"]),
                agent_id=str(body["a"]),
                tenant_id=str(body["t"]),
                caller=str(body["f"]),
                expires=float(body["e"]),
                nonce=str(body["n"]),
            )
        except (ValueError, KeyError, TypeError):
            raise TokenRejected("malformed stream token") from None
        moment = time.time()
        if grant.expires < moment:
            raise TokenRejected("stream token expired")
        if grant.call_sid != call_sid:
            raise TokenRejected("stream token belongs to another call", code=4403)
        self._forget_expired(moment)
        if grant.nonce in self._used:
            raise TokenRejected("stream token already used", code=4403)
        self._used[grant.nonce] = grant.expires
        return grant

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def _forget_expired(self, moment: float) -> None:
        for nonce in [n for n, expires in self._used.items() if expires < moment]:
            del self._used[nonce]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class CallRef:
    tenant_id: str
    session_id: str
    agent_id: str


class TwilioState:
    """The Twilio edge's state in this process, built from settings on first use."""

    def __init__(self, settings: Settings) -> None:
        token = settings.twilio_token()
        self.auth_token = token
        self.validator = RequestValidator(token) if token else None
        self.tokens = StreamTokens(token or secrets.token_hex(16), settings.twilio_stream_token_ttl)
        self.rest = TwilioRest(
            RestSettings(settings.twilio_account_sid, token, api_url=settings.twilio_api_url)
        )
        self.live: dict[str, Call] = {}
        self.recent: OrderedDict[str, CallRef] = OrderedDict()

    def signature_ok(self, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
        if self.validator is None or not signature:
            return False
        return bool(self.validator.validate(url, params, signature))

    def track(self, call_sid: str, call: Call) -> None:
        self.live[call_sid] = call
        self.remember(call_sid, CallRef(call.record.tenant_id, call.id, call.agent.id))

    def remember(self, call_sid: str, ref: CallRef) -> None:
        self.recent[call_sid] = ref
        self.recent.move_to_end(call_sid)
        while len(self.recent) > RECENT_CALLS:
            self.recent.popitem(last=False)

    def untrack(self, call_sid: str) -> None:
        self.live.pop(call_sid, None)


def twilio_state(services: Services) -> TwilioState:
    state = services.extra.get("twilio")
    if not isinstance(state, TwilioState):
        state = services.extra["twilio"] = TwilioState(services.settings)
    return state

"""Twilio REST for a live call: transfer TwiML and hang-up through the official `twilio` library,
retried with backoff on 429/5xx/network errors, failing fast on 4xx; never on the event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

import twilio.rest.api  # noqa: F401  # else Client loads it lazily: ~0.7 s at the first transfer
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from connectors.base import TransferError, TransferTarget

log = logging.getLogger(__name__)
_http_log = logging.getLogger(f"{__name__}.http")  # the library logs each request at INFO
if _http_log.level == logging.NOTSET:
    _http_log.setLevel(logging.WARNING)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
WORKFLOW_PREFIX = "WW"  # a TaskRouter workflow SID in place of a queue name


class CallGone(TransferError):
    """Twilio no longer knows the call as live (404 / 21220): it has already ended."""


@dataclass(frozen=True, slots=True)
class RestSettings:
    account_sid: str
    auth_token: str
    api_url: str = ""  # empty: https://api.twilio.com (override: a local Twilio simulator)
    attempts: int = 4
    backoff: float = 0.25  # seconds before the first retry; doubles each time, with jitter
    max_backoff: float = 4.0
    timeout: float = 10.0


class TwilioRest:
    """Updates live calls. One `twilio.rest.Client` per request: requests run in worker
    threads, and a Client's HTTP session is not meant to be shared across threads."""

    def __init__(self, settings: RestSettings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.account_sid and self.settings.auth_token)

    async def redirect(self, call_sid: str, twiml: str) -> None:
        """Replace the call's instructions with `twiml` (the media stream ends with a stop)."""
        await self._update(call_sid, {"twiml": twiml})

    async def complete(self, call_sid: str) -> None:
        """Hang up the call; a call that already ended is not an error."""
        try:
            await self._update(call_sid, {"status": "completed"})
        except CallGone:
            log.info("call %s had already ended", call_sid)

    async def _update(self, call_sid: str, fields: dict[str, str]) -> None:
        if not self.configured:
            raise TransferError(
                "Twilio REST is not configured: set ORATIO_TWILIO_ACCOUNT_SID and "
                "ORATIO_TWILIO_AUTH_TOKEN"
            )
        s = self.settings
        delay = s.backoff
        for attempt in range(1, s.attempts + 1):
            try:
                await asyncio.to_thread(self._update_blocking, call_sid, fields)
                return
            except TwilioRestException as exc:
                if exc.status == 404 or exc.code == 21220:
                    raise CallGone(f"Twilio: call {call_sid} is not in progress") from None
                if exc.status not in RETRYABLE_STATUS:
                    raise TransferError(f"Twilio REST {exc.status}: {exc.msg}") from None
                failure = f"Twilio REST {exc.status}: {exc.msg}"
            except OSError as exc:  # requests' RequestException is an OSError
                failure = f"Twilio REST unreachable: {exc}"
            if attempt == s.attempts:
                raise TransferError(f"{failure} (gave up after {attempt} attempts)")
            log.warning("call %s: %s; retrying in %.2fs", call_sid, failure, delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, s.max_backoff)

    def _update_blocking(self, call_sid: str, fields: dict[str, str]) -> None:
        s = self.settings
        client = Client(
            s.account_sid,
            s.auth_token,
            http_client=TwilioHttpClient(timeout=s.timeout, logger=_http_log),
        )
        if s.api_url:
            client.api.base_url = s.api_url
        client.calls(call_sid).update(**fields)


def transfer_twiml(
    target: TransferTarget,
    *,
    summary: str,
    reason: str,
    session_id: str,
    whisper_url: str = "",
    say: str = "",
) -> str:
    """The TwiML that takes a live call to a person.

    - `target.number` set: `<Dial>` the number or SIP URI; warm: `<Number url=whisper>` plays the
      summary to the person who answers, before the caller is bridged.
    - `target.queue` a TaskRouter workflow SID (WW...): `<Enqueue workflowSid>` whose `<Task>`
      attributes carry the summary (the worker sees it in their task).
    - otherwise `<Enqueue>` into the named queue; warm: the operator dequeues with
      `<Dial><Queue url=whisper>` (see `operator_twiml`) and hears the summary first.
    """
    response = VoiceResponse()
    if say:
        response.say(say)
    if target.number:
        dial = Dial(timeout=30, answer_on_bridge=True)
        url = whisper_url if target.warm and whisper_url else None
        if target.number.startswith("sip:"):
            dial.sip(target.number, url=url)
        else:
            dial.number(target.number, url=url)
        response.append(dial)
    elif target.queue.startswith(WORKFLOW_PREFIX):
        attributes: dict[str, Any] = {"session_id": session_id, "reason": reason}
        if target.warm:
            attributes["summary"] = summary
        enqueue = response.enqueue(workflow_sid=target.queue)
        enqueue.task(json.dumps(attributes, separators=(",", ":")))
    else:
        response.enqueue(target.queue)
    return str(response.to_xml(xml_declaration=False))


def operator_twiml(queue: str, whisper_url: str) -> str:
    """For the human's phone: take the next caller from `queue`, hearing the summary first."""
    response = VoiceResponse()
    dial = Dial()
    dial.queue(queue, url=whisper_url)
    response.append(dial)
    return str(response.to_xml(xml_declaration=False))

"""Twilio REST through the real `twilio` library, its HTTP layer stubbed with `responses`:
the exact requests, retries with backoff on 429/5xx, fast failure on 401/404."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
import requests
import responses

from connectors.base import TransferError, TransferTarget
from connectors.twilio import TwilioConnector
from connectors.twilio_rest import CallGone, RestSettings, TwilioRest

SID, TOKEN, CALL = "AC" + "a" * 32, "secret-token", "CA" + "b" * 32
URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls/{CALL}.json"
CALL_JSON = {"sid": CALL, "account_sid": SID, "status": "in-progress"}


def rest(**overrides: object) -> TwilioRest:
    options: dict[str, object] = {"backoff": 0.001, "max_backoff": 0.002, **overrides}
    return TwilioRest(RestSettings(SID, TOKEN, **options))  # type: ignore[arg-type]


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def form(call: responses.Call) -> dict[str, list[str]]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return parse_qs(text)


class NullSocket:
    async def send_text(self, data: str) -> None:
        return None

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        return None


async def test_transfer_posts_the_enqueue_twiml_with_basic_auth(
    api: responses.RequestsMock,
) -> None:
    api.post(URL, json=CALL_JSON)
    line = TwilioConnector(NullSocket(), stream_sid="MZ1", call_sid=CALL, rest=rest())
    await line.transfer(TransferTarget("support"), "caller asked for a person", "Summary.")
    await line.close()
    (call,) = api.calls
    assert call.request.method == "POST" and call.request.url == URL
    assert form(call) == {"Twiml": ["<Response><Enqueue>support</Enqueue></Response>"]}
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert line.transferred


async def test_hangup_completes_the_call(api: responses.RequestsMock) -> None:
    api.post(URL, json={**CALL_JSON, "status": "completed"})
    await rest().complete(CALL)
    assert form(api.calls[0]) == {"Status": ["completed"]}


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_retried(
    api: responses.RequestsMock, status: int
) -> None:
    api.post(URL, status=status, json={"code": 20429, "message": "slow down", "status": status})
    api.post(URL, json=CALL_JSON)
    await rest().redirect(CALL, "<Response><Enqueue>support</Enqueue></Response>")
    assert [c.response.status_code for c in api.calls] == [status, 200]  # type: ignore[union-attr]


async def test_network_errors_are_retried(api: responses.RequestsMock) -> None:
    api.post(URL, body=requests.ConnectionError("connection reset"))
    api.post(URL, json=CALL_JSON)
    await rest().redirect(CALL, "<Response/>")
    assert len(api.calls) == 2


async def test_persistent_server_errors_give_up_after_the_attempts(
    api: responses.RequestsMock,
) -> None:
    api.post(URL, status=502, json={"code": 20500, "message": "bad gateway", "status": 502})
    with pytest.raises(TransferError, match=r"502.*gave up after 3 attempts"):
        await rest(attempts=3).redirect(CALL, "<Response/>")
    assert len(api.calls) == 3


async def test_bad_credentials_fail_fast(api: responses.RequestsMock) -> None:
    api.post(URL, status=401, json={"code": 20003, "message": "Authenticate", "status": 401})
    with pytest.raises(TransferError, match="Twilio REST 401"):
        await rest().redirect(CALL, "<Response/>")
    assert len(api.calls) == 1


async def test_a_finished_call_cannot_be_transferred_but_hanging_it_up_is_fine(
    api: responses.RequestsMock,
) -> None:
    api.post(URL, status=404, json={"code": 20404, "message": "not found", "status": 404})
    with pytest.raises(CallGone):
        await rest().redirect(CALL, "<Response/>")
    await rest().complete(CALL)
    assert len(api.calls) == 2


async def test_a_call_not_in_progress_is_gone(api: responses.RequestsMock) -> None:
    api.post(URL, status=400, json={"code": 21220, "message": "Call is not in-progress"})
    with pytest.raises(CallGone):
        await rest().redirect(CALL, "<Response/>")


async def test_without_credentials_nothing_is_sent(api: responses.RequestsMock) -> None:
    with pytest.raises(TransferError, match="ORATIO_TWILIO_ACCOUNT_SID"):
        await TwilioRest(RestSettings("", TOKEN)).redirect(CALL, "<Response/>")
    assert not api.calls


async def test_the_api_url_can_point_at_a_local_simulator(api: responses.RequestsMock) -> None:
    local = f"http://127.0.0.1:8089/2010-04-01/Accounts/{SID}/Calls/{CALL}.json"
    api.post(local, json=CALL_JSON)
    await rest(api_url="http://127.0.0.1:8089").complete(CALL)
    assert api.calls[0].request.url == local

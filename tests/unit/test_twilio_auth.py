"""Stream tokens (signed, short-lived, single use) and the public URL Twilio signed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.datastructures import URL

from oratio_voice.config import Settings
from oratio_voice.demo import ensure_local_twilio, local_account_sid
from oratio_voice.routes.twilio_auth import StreamTokens, TokenRejected, http_base, public_url


def issue(tokens: StreamTokens, call_sid: str = "CA1") -> str:
    return tokens.issue(call_sid=call_sid, agent_id="agt_1", tenant_id="ten_1", caller="+1555")


def test_a_token_grants_its_call_once() -> None:
    tokens = StreamTokens("auth", ttl=30)
    token = issue(tokens)
    grant = tokens.redeem(token, "CA1")
    assert (grant.agent_id, grant.tenant_id, grant.caller) == ("agt_1", "ten_1", "+1555")
    with pytest.raises(TokenRejected, match="already used") as replay:
        tokens.redeem(token, "CA1")
    assert replay.value.code == 4403


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: "", "missing"),
        (lambda t: "nodot", "missing"),
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "signature"),
        (lambda t: "e30." + t.partition(".")[2], "signature"),
    ],
)
def test_forged_tokens_are_rejected(mutate: object, message: str) -> None:
    tokens = StreamTokens("auth", ttl=30)
    with pytest.raises(TokenRejected, match=message):
        tokens.redeem(mutate(issue(tokens)), "CA1")  # type: ignore[operator]


def test_tokens_from_another_server_secret_or_call_are_rejected() -> None:
    mine, theirs = StreamTokens("auth", ttl=30), StreamTokens("other", ttl=30)
    with pytest.raises(TokenRejected, match="signature"):
        mine.redeem(issue(theirs), "CA1")
    with pytest.raises(TokenRejected, match="another call"):
        mine.redeem(issue(mine, "CA2"), "CA1")


def test_expired_tokens_are_rejected() -> None:
    tokens = StreamTokens("auth", ttl=-1)
    with pytest.raises(TokenRejected, match="expired") as expired:
        tokens.redeem(issue(tokens), "CA1")
    assert expired.value.code == 4401


def test_used_nonces_are_forgotten_once_expired() -> None:
    tokens = StreamTokens("auth", ttl=0.05)
    tokens.redeem(issue(tokens), "CA1")
    time.sleep(0.06)
    tokens.redeem(issue(tokens, "CA2"), "CA2")
    assert len(tokens._used) == 1


def test_public_url_prefers_configuration_then_forwarded_headers() -> None:
    url = URL("http://10.0.0.5:8000/twilio/voice?x=1")
    configured = Settings(public_url="https://voice.example.com/")
    assert public_url(url, {}, configured) == "https://voice.example.com/twilio/voice?x=1"
    plain = Settings()
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-host": "voice.example.com"}
    assert public_url(url, forwarded, plain) == "https://voice.example.com/twilio/voice?x=1"
    proto_only = {"x-forwarded-proto": "https,http"}
    assert public_url(url, proto_only, plain) == "https://10.0.0.5:8000/twilio/voice?x=1"
    assert public_url(url, {}, plain) == "http://10.0.0.5:8000/twilio/voice?x=1"


def test_public_url_of_a_websocket_keeps_a_websocket_scheme() -> None:
    url = URL("ws://10.0.0.5:8000/twilio/media")
    configured = Settings(public_url="https://voice.example.com")
    assert public_url(url, {}, configured) == "wss://voice.example.com/twilio/media"
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-host": "voice.example.com"}
    assert public_url(url, forwarded, Settings()) == "wss://voice.example.com/twilio/media"
    assert http_base("wss://voice.example.com/twilio/media") == "https://voice.example.com"


def test_the_demo_generates_a_private_local_token_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    ensure_local_twilio(settings)
    token = settings.twilio_token()
    assert len(token) == 32 and (settings.twilio_token_file.stat().st_mode & 0o777) == 0o600
    assert settings.twilio_account_sid == local_account_sid(token)
    assert settings.twilio_api_url == "http://127.0.0.1:8089"
    again = Settings(data_dir=tmp_path)
    ensure_local_twilio(again)
    assert again.twilio_token() == token


def test_a_configured_token_wins_over_the_demo(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, twilio_auth_token="real", twilio_account_sid="AC1")
    ensure_local_twilio(settings)
    assert settings.twilio_token() == "real" and not settings.twilio_token_file.exists()
    assert settings.twilio_api_url == ""

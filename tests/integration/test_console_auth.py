"""Console sign-in over a real server: register, login, rotating refresh with reuse detection,
bad and tampered access tokens, brute-force limit, admin-only audit log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from console.auth import AUDIENCE, ISSUER
from oratio_voice.models import User, now
from oratio_voice.passwords import hash_password
from tests.conftest import LiveServer
from tests.integration.test_console_support import PASSWORD, client, console_server, register


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with console_server(tmp_path / "data") as live:
        yield live


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with client(server) as opened:
        yield opened


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_login_and_me(http: httpx.AsyncClient) -> None:
    api = await register(http, "Acme", "Owner@Acme.example")
    me = (await http.get("/api/auth/me", headers=api.auth)).json()
    assert me["email"] == "Owner@Acme.example" and me["role"] == "admin"
    assert me["organization"] == "Acme"
    again = await http.post(
        "/api/auth/register",
        json={"email": "owner@acme.example", "password": PASSWORD, "organization": "Other"},
    )
    assert again.status_code == 409
    login = await http.post(
        "/api/auth/login", json={"email": "OWNER@acme.example", "password": PASSWORD}
    )
    assert login.status_code == 200 and login.json()["token_type"] == "bearer"
    token = login.json()["access_token"]
    assert (await http.get("/api/auth/me", headers=bearer(token))).json()["id"] == me["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD, "organization": "X"},
        {"email": "a@b.example", "password": "short", "organization": "X"},
        {"email": "a@b.example", "password": PASSWORD, "organization": "   "},
        {"email": "a@b.example", "password": PASSWORD},
        {"email": "a@b.example", "password": PASSWORD, "organization": "X", "role": "root"},
    ],
)
async def test_register_refuses_bad_input(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await http.post("/api/auth/register", json=body)
    assert answer.status_code == 422 and answer.json()["detail"]


async def test_wrong_password_and_unknown_email_answer_alike(http: httpx.AsyncClient) -> None:
    api = await register(http, "Acme")
    wrong = await http.post("/api/auth/login", json={"email": api.email, "password": "nope nope"})
    unknown = await http.post(
        "/api/auth/login", json={"email": "ghost@nowhere.example", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_refresh_rotates_and_a_reused_token_revokes_its_family(
    http: httpx.AsyncClient,
) -> None:
    api = await register(http, "Acme")
    first = await http.post("/api/auth/refresh", json={"refresh_token": api.refresh_token})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != api.refresh_token
    assert (await http.get("/api/auth/me", headers=bearer(rotated["access_token"]))).is_success
    # The old token again: refused, and the token it was rotated into dies with it.
    reused = await http.post("/api/auth/refresh", json={"refresh_token": api.refresh_token})
    assert reused.status_code == 401 and "already used" in reused.json()["detail"]
    after = await http.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    # Another sign-in of the same user is a different family and keeps working.
    login = await http.post("/api/auth/login", json={"email": api.email, "password": PASSWORD})
    fresh = await http.post(
        "/api/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    assert fresh.status_code == 200


async def test_logout_ends_the_refresh_family(http: httpx.AsyncClient) -> None:
    api = await register(http, "Acme")
    assert (
        await http.post("/api/auth/logout", json={"refresh_token": api.refresh_token})
    ).status_code == 204
    answer = await http.post("/api/auth/refresh", json={"refresh_token": api.refresh_token})
    assert answer.status_code == 401


@pytest.mark.parametrize("token", ["", "garbage", "ort_not-a-real-token", "x" * 300])
async def test_bad_refresh_tokens(http: httpx.AsyncClient, token: str) -> None:
    answer = await http.post("/api/auth/refresh", json={"refresh_token": token})
    assert answer.status_code in (401, 422)


def _claims(api_user: dict[str, str], **override: Any) -> dict[str, Any]:
    issued = now()
    claims = {
        "sub": api_user["id"],
        "tid": api_user["tenant_id"],
        "email": api_user["email"],
        "role": "admin",
        "typ": "access",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + timedelta(minutes=5),
    }
    return {k: v for k, v in (claims | override).items() if v is not None}


async def test_expired_forged_and_other_algorithm_tokens_are_refused(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    api = await register(http, "Acme")
    user = (await http.get("/api/auth/me", headers=api.auth)).json()
    secret = server.services.settings.jwt_key()
    good = jwt.encode(_claims(user), secret, algorithm="HS256")
    assert (await http.get("/api/auth/me", headers=bearer(good))).status_code == 200
    header, payload, _ = good.split(".")
    past = now() - timedelta(minutes=10)
    bad = {
        "expired": jwt.encode(_claims(user, iat=past, exp=past), secret, algorithm="HS256"),
        "forged": jwt.encode(_claims(user), "another secret " * 4, algorithm="HS256"),
        "alg none": jwt.encode(_claims(user), "", algorithm="none"),
        "HS512": jwt.encode(_claims(user), secret, algorithm="HS512"),
        "tampered": f"{header}.{payload[:-4]}AAAA.{good.split('.')[2]}",
        "wrong audience": jwt.encode(_claims(user, aud="other"), secret, algorithm="HS256"),
        "wrong issuer": jwt.encode(_claims(user, iss="other"), secret, algorithm="HS256"),
        "no expiry": jwt.encode(_claims(user, exp=None), secret, algorithm="HS256"),
        "not an access token": jwt.encode(_claims(user, typ="refresh"), secret, algorithm="HS256"),
        "other tenant": jwt.encode(_claims(user, tid="ten_other"), secret, algorithm="HS256"),
        "refresh token": api.refresh_token,
        "junk": "a.b.c",
    }
    for name, token in bad.items():
        answer = await http.get("/api/auth/me", headers=bearer(token))
        assert answer.status_code == 401, name
        assert answer.headers["www-authenticate"] == "Bearer"
    assert "expired" in (await http.get("/api/auth/me", headers=bearer(bad["expired"]))).text
    assert (await http.get("/api/auth/me")).status_code == 401


async def test_login_brute_force_is_limited_per_email_and_address(
    http: httpx.AsyncClient,
) -> None:
    api = await register(http, "Acme")
    other = await register(http, "Other")
    for _ in range(5):
        wrong = await http.post(
            "/api/auth/login", json={"email": api.email, "password": "guess!!!"}
        )
        assert wrong.status_code == 401
    blocked = await http.post("/api/auth/login", json={"email": api.email, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    # Another account from the same address is not locked out by it.
    fine = await http.post("/api/auth/login", json={"email": other.email, "password": PASSWORD})
    assert fine.status_code == 200
    audit = (await http.get("/api/audit", headers=api.auth)).json()
    assert [e["action"] for e in audit].count("auth.login_failed") == 5


async def test_audit_log_is_for_admins(server: LiveServer, http: httpx.AsyncClient) -> None:
    api = await register(http, "Acme")
    member = User(
        tenant_id=api.tenant_id,
        email="member@acme.example",
        password_hash=hash_password(PASSWORD, 4),
        role="member",
    )
    await server.services.store.put_user(member)
    login = await http.post("/api/auth/login", json={"email": member.email, "password": PASSWORD})
    token = login.json()["access_token"]
    assert (await http.get("/api/audit", headers=bearer(token))).status_code == 403
    assert (await http.get("/api/agents", headers=bearer(token))).status_code == 200
    entries = (await http.get("/api/audit", headers=api.auth)).json()
    actions = {e["action"] for e in entries}
    assert {"auth.register", "auth.login"} <= actions
    assert all(e["actor"] in (api.email, member.email) for e in entries)


JWKS_URL = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool/.well-known/jwks.json"
COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool"


async def test_cognito_mode_accepts_pool_tokens_only(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    issued = now()
    claims = {
        "sub": "cog-7",
        "iss": COGNITO_ISSUER,
        "token_use": "id",
        "aud": "console-app",
        "email": "ops@acme.example",
        "custom:organization": "Acme Support",
        "iat": issued,
        "exp": issued + timedelta(minutes=5),
    }
    token = jwt.encode(claims, key, "RS256", {"kid": "k1"})
    settings = {
        "auth_mode": "cognito",
        "cognito_jwks_url": JWKS_URL,
        "cognito_issuer": COGNITO_ISSUER,
        "cognito_client_id": "console-app",
    }
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.get(JWKS_URL).respond(json={"keys": [public | {"kid": "k1", "alg": "RS256"}]})
        async with console_server(tmp_path / "data", **settings) as server, client(server) as http:
            me = await http.get("/api/auth/me", headers=bearer(token))
            assert me.status_code == 200, me.text
            assert me.json()["email"] == "ops@acme.example"
            assert me.json()["organization"] == "Acme Support"
            again = await http.get("/api/auth/me", headers=bearer(token))
            assert again.json()["tenant_id"] == me.json()["tenant_id"]  # provisioned once
            local = jwt.encode(
                _claims(me.json()), server.services.settings.jwt_key(), algorithm="HS256"
            )
            assert (await http.get("/api/auth/me", headers=bearer(local))).status_code == 401
            other_app = jwt.encode(claims | {"aud": "x"}, key, "RS256", {"kid": "k1"})
            assert (await http.get("/api/auth/me", headers=bearer(other_app))).status_code == 401
            login = await http.post(
                "/api/auth/login", json={"email": "ops@acme.example", "password": PASSWORD}
            )
            assert login.status_code == 400 and "Cognito" in login.json()["detail"]

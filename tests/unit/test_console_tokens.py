"""Console credentials: bcrypt hashes, access tokens, rotating refresh tokens on a real SQLite
file, the login limiter, signed recording links and Cognito JWT verification (JWKS served
through a stubbed httpx transport)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from console.auth import AuthError, RefreshReused, TokenService
from console.cognito import CognitoUnavailable, CognitoVerifier
from console.ratelimit import LoginLimiter, TooManyAttempts
from console.recordings import InvalidLink, RecordingSigner
from oratio_voice.models import Tenant, User, now
from oratio_voice.passwords import hash_password, verify_password
from oratio_voice.store.sqlite import SQLiteStore

SECRET = "s" * 40


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "oratio.db") as opened:
        yield opened


@pytest.fixture
async def user(store: SQLiteStore) -> User:
    tenant = await store.put_tenant(Tenant(name="Acme"))
    return await store.put_user(
        User(tenant_id=tenant.id, email="a@acme.example", password_hash="x")
    )


def tokens(store: SQLiteStore, access_ttl: float = 60) -> TokenService:
    return TokenService(store, SECRET, access_ttl=access_ttl, refresh_ttl=3600)


def test_password_hashes() -> None:
    hashed = hash_password("correct horse", rounds=4)
    assert hashed.startswith("$2b$04$") and verify_password("correct horse", hashed)
    assert not verify_password("correct hors", hashed)
    # Past bcrypt's 72 bytes every character still counts.
    long = "x" * 100
    assert not verify_password(long + "a", hash_password(long + "b", rounds=4))
    assert verify_password("pässwörd ✓", hash_password("pässwörd ✓", rounds=4))
    assert not verify_password("anything", "not a bcrypt hash")


async def test_access_tokens(store: SQLiteStore, user: User) -> None:
    service = tokens(store)
    claims = service.verify_access(service.issue_access(user))
    assert (claims.user_id, claims.tenant_id, claims.role) == (user.id, user.tenant_id, "admin")
    expired = tokens(store, access_ttl=-1).issue_access(user)
    with pytest.raises(AuthError, match="expired"):
        service.verify_access(expired)
    other = TokenService(store, "o" * 40, access_ttl=60, refresh_ttl=60)
    with pytest.raises(AuthError, match="invalid"):
        service.verify_access(other.issue_access(user))
    with pytest.raises(AuthError):
        service.verify_access("x" * 5000)
    with pytest.raises(ValueError, match="32"):
        TokenService(store, "short", access_ttl=1, refresh_ttl=1)


async def test_refresh_rotation_and_reuse(store: SQLiteStore, user: User) -> None:
    service = tokens(store)
    first = await service.issue(user)
    _, second = await service.refresh(first.refresh_token)
    _, third = await service.refresh(second.refresh_token)
    with pytest.raises(RefreshReused):
        await service.refresh(first.refresh_token)
    with pytest.raises(AuthError, match="revoked"):
        await service.refresh(third.refresh_token)
    with pytest.raises(AuthError):
        await service.refresh("ort_unknown")


async def test_two_refreshes_at_once_count_as_reuse(store: SQLiteStore, user: User) -> None:
    service = tokens(store)
    issued = await service.issue(user)
    results = await asyncio.gather(
        service.refresh(issued.refresh_token),
        service.refresh(issued.refresh_token),
        return_exceptions=True,
    )
    assert any(isinstance(r, RefreshReused) for r in results)
    for result in results:  # whoever got new tokens holds a dead refresh token
        if not isinstance(result, BaseException):
            with pytest.raises(AuthError):
                await service.refresh(result[1].refresh_token)


async def test_expired_refresh_token(store: SQLiteStore, user: User) -> None:
    service = TokenService(store, SECRET, access_ttl=60, refresh_ttl=-1)
    issued = await service.issue(user)
    with pytest.raises(AuthError, match="expired"):
        await service.refresh(issued.refresh_token)


def test_login_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    limiter = LoginLimiter(max_failures=3, window_seconds=60)
    for _ in range(3):
        limiter.check("A@x.example", "1.2.3.4")
        limiter.failed("a@x.example", "1.2.3.4")
    with pytest.raises(TooManyAttempts) as blocked:
        limiter.check("a@x.example", "1.2.3.4")
    assert blocked.value.retry_after == 60
    limiter.check("a@x.example", "5.6.7.8")  # another address
    limiter.check("b@x.example", "1.2.3.4")  # another account
    clock[0] += 61
    limiter.check("a@x.example", "1.2.3.4")
    limiter.failed("a@x.example", "1.2.3.4")
    limiter.succeeded("a@x.example", "1.2.3.4")
    limiter.check("a@x.example", "1.2.3.4")
    for n in range(30):  # one address spraying many accounts
        limiter.failed(f"user{n}@x.example", "9.9.9.9")
    with pytest.raises(TooManyAttempts):
        limiter.check("fresh@x.example", "9.9.9.9")


def test_recording_links() -> None:
    signer = RecordingSigner(SECRET, 60)
    url, _ = signer.link("ten_a", "ses_1")
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    signer.check("ten_a", "ses_1", int(query["expires"]), query["signature"])
    for tenant, session, sig in (
        ("ten_b", "ses_1", query["signature"]),
        ("ten_a", "ses_2", query["signature"]),
        ("ten_a", "ses_1", "é" * 64),
    ):
        with pytest.raises(InvalidLink):
            signer.check(tenant, session, int(query["expires"]), sig)
    with pytest.raises(InvalidLink):
        signer.check("ten_a", "ses_1", int(query["expires"]) + 1, query["signature"])
    stale = RecordingSigner(SECRET, -5)
    url, _ = stale.link("ten_a", "ses_1")
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    with pytest.raises(InvalidLink, match="expired"):
        stale.check("ten_a", "ses_1", int(query["expires"]), query["signature"])


# Cognito ------------------------------------------------------------------------------------

JWKS_URL = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool/.well-known/jwks.json"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool"
CLIENT = "client123"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [public | {"kid": kid, "alg": "RS256", "use": "sig"}]}


def cognito_token(key: Any, kid: str = "k1", alg: str = "RS256", **claims: Any) -> str:
    issued = now()
    body = {
        "sub": "cog-1",
        "iss": ISSUER,
        "token_use": "id",
        "aud": CLIENT,
        "email": "ops@acme.example",
        "custom:organization": "Acme",
        "iat": issued,
        "exp": issued + timedelta(minutes=5),
    } | claims
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, alg, {"kid": kid})


@respx.mock
async def test_cognito_tokens(rsa_key: rsa.RSAPrivateKey) -> None:
    route = respx.get(JWKS_URL).mock(return_value=httpx.Response(200, json=jwks(rsa_key, "k1")))
    verifier = CognitoVerifier(JWKS_URL, ISSUER, CLIENT)
    identity = await verifier.verify(cognito_token(rsa_key))
    assert (identity.email, identity.organization) == ("ops@acme.example", "Acme")
    access = cognito_token(
        rsa_key, token_use="access", aud=None, client_id=CLIENT, username="ops@acme.example"
    )
    assert (await verifier.verify(access)).email == "ops@acme.example"
    assert route.call_count == 1  # cached
    past = now() - timedelta(minutes=10)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = {
        "expired": cognito_token(rsa_key, iat=past, exp=past),
        "other app": cognito_token(rsa_key, aud="someone-else"),
        "other pool": cognito_token(rsa_key, iss="https://evil.example"),
        "other key": cognito_token(other),
        "symmetric": cognito_token("x" * 40, alg="HS256"),
        "no token_use": cognito_token(rsa_key, token_use=None),
        "no email": cognito_token(rsa_key, email=None),
        "junk": "a.b.c",
    }
    for name, token in refused.items():
        with pytest.raises(AuthError):
            await verifier.verify(token)
            pytest.fail(name)


@respx.mock
async def test_cognito_key_rotation_and_outage(rsa_key: rsa.RSAPrivateKey) -> None:
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    respx.get(JWKS_URL).mock(
        side_effect=[
            httpx.Response(200, json=jwks(rsa_key, "k1")),
            httpx.Response(200, json=jwks(rotated, "k2")),
        ]
    )
    verifier = CognitoVerifier(JWKS_URL, ISSUER, CLIENT)
    await verifier.verify(cognito_token(rsa_key))
    verifier._fetched_at -= 120  # a minute later a new key id may trigger a refetch
    assert (await verifier.verify(cognito_token(rotated, kid="k2"))).subject == "cog-1"
    respx.get(JWKS_URL).mock(return_value=httpx.Response(503))
    down = CognitoVerifier(JWKS_URL, ISSUER, CLIENT)
    with pytest.raises(CognitoUnavailable):
        await down.verify(cognito_token(rsa_key))
    with pytest.raises(ValueError, match="ORATIO_COGNITO_JWKS_URL"):
        CognitoVerifier("", ISSUER, CLIENT)

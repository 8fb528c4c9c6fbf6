"""Cognito mode: console bearer tokens are Cognito user pool JWTs (RS256), verified against the
pool's JWKS (fetched from settings, cached, refetched when an unknown key id appears)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from console.auth import MAX_TOKEN_LENGTH, AuthError

JWKS_TTL = 3600.0
REFETCH_INTERVAL = 60.0  # an unknown key id triggers at most one refetch a minute


class CognitoUnavailable(AuthError):
    """The JWKS could not be fetched or read."""


@dataclass(frozen=True, slots=True)
class CognitoIdentity:
    subject: str
    email: str
    organization: str
    claims: dict[str, Any]


class CognitoVerifier:
    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        client_id: str,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        missing = [
            name
            for name, value in (
                ("ORATIO_COGNITO_JWKS_URL", jwks_url),
                ("ORATIO_COGNITO_ISSUER", issuer),
                ("ORATIO_COGNITO_CLIENT_ID", client_id),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"cognito mode needs {', '.join(missing)}")
        self.jwks_url = jwks_url
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._http = http
        self._keys: dict[str, Any] = {}
        self._fetched_at = -JWKS_TTL
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> CognitoIdentity:
        """The identity in a valid Cognito ID or access token of this app client."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("missing or malformed access token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("invalid access token") from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise AuthError("invalid access token")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("access token expired") from None
        except jwt.PyJWTError:
            raise AuthError("invalid access token") from None
        use = claims.get("token_use")
        audience = claims.get("aud") if use == "id" else claims.get("client_id")
        if use not in ("id", "access") or audience != self.client_id:
            raise AuthError("the token is not for this application")
        email = claims.get("email") or claims.get("username") or ""
        if not isinstance(email, str) or "@" not in email:
            raise AuthError("the token carries no e-mail address")
        organization = str(claims.get("custom:organization") or "")
        return CognitoIdentity(str(claims["sub"]), email, organization, claims)

    async def _key(self, kid: str) -> Any:
        moment = time.monotonic()
        stale = moment - self._fetched_at > JWKS_TTL
        if kid not in self._keys and (stale or moment - self._fetched_at > REFETCH_INTERVAL):
            async with self._lock:
                if kid not in self._keys:
                    await self._fetch()
        elif stale:
            async with self._lock:
                try:
                    await self._fetch()
                except CognitoUnavailable:
                    if kid not in self._keys:
                        raise
        try:
            return self._keys[kid]
        except KeyError:
            raise AuthError("the token was signed by an unknown key") from None

    async def _fetch(self) -> None:
        try:
            if self._http is not None:
                response = await self._http.get(self.jwks_url, timeout=10.0)
            else:
                async with httpx.AsyncClient(timeout=10.0) as http:
                    response = await http.get(self.jwks_url)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_json(response.text).keys
        except (httpx.HTTPError, jwt.PyJWTError, json.JSONDecodeError) as exc:
            self._fetched_at = time.monotonic()
            raise CognitoUnavailable(f"cannot read the Cognito JWKS: {exc}") from exc
        self._keys = {k.key_id: k.key for k in keys if k.key_id}
        self._fetched_at = time.monotonic()

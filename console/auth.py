"""Console sign-in: bcrypt password hashes, short-lived HS256 access tokens and rotating refresh
tokens. A refresh token works once; presenting it again revokes every token of its family, so
a stolen token is worth one refresh at most and its theft signs the real user out too."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from oratio_voice.models import User, now
from oratio_voice.store.base import NotFound, RefreshToken, Store

ALGORITHM = "HS256"
ISSUER = "oratio-console"
AUDIENCE = "oratio-console"
REFRESH_SCHEME = "ort_"
MAX_TOKEN_LENGTH = 4096


class AuthError(Exception):
    """Credentials or a token were rejected (HTTP 401)."""


class RefreshReused(AuthError):
    """A refresh token was presented a second time: its family is revoked."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says about its bearer."""

    user_id: str
    tenant_id: str
    email: str
    role: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


def _refresh_id(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class TokenService:
    """Issues and checks the console's tokens; refresh tokens live in the store (hashed)."""

    def __init__(self, store: Store, secret: str, *, access_ttl: float, refresh_ttl: float) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self.store = store
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def issue_access(self, user: User) -> str:
        issued = now()
        claims = {
            "sub": user.id,
            "tid": user.tenant_id,
            "email": user.email,
            "role": user.role,
            "typ": "access",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + timedelta(seconds=self.access_ttl),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token; AuthError for expired, forged, other-algorithm
        or malformed tokens."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("missing or malformed access token")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("access token expired") from None
        except jwt.PyJWTError:
            raise AuthError("invalid access token") from None
        fields = [claims.get(name) for name in ("sub", "tid", "email", "role")]
        strings = [f for f in fields if isinstance(f, str) and f]
        if claims.get("typ") != "access" or len(strings) != len(fields):
            raise AuthError("invalid access token")
        user_id, tenant_id, email, role = strings
        expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        return AccessClaims(user_id, tenant_id, email, role, expires_at)

    async def issue(self, user: User, family_id: str | None = None) -> IssuedTokens:
        """A fresh access token and refresh token (a new family unless one is given)."""
        raw = REFRESH_SCHEME + secrets.token_urlsafe(32)
        record = RefreshToken(
            id=_refresh_id(raw),
            tenant_id=user.tenant_id,
            user_id=user.id,
            family_id=family_id or secrets.token_hex(16),
            expires_at=now() + timedelta(seconds=self.refresh_ttl),
        )
        await self.store.put_refresh_token(record)
        return IssuedTokens(self.issue_access(user), raw, int(self.access_ttl))

    async def refresh(self, raw: str) -> tuple[User, IssuedTokens]:
        """Trade a refresh token for new tokens of the same family; AuthError if it is
        unknown, expired or revoked, RefreshReused (family revoked) if it was used before."""
        if not raw.startswith(REFRESH_SCHEME) or len(raw) > 200:
            raise AuthError("invalid refresh token")
        record = await self.store.get_refresh_token(_refresh_id(raw))
        if record is None:
            raise AuthError("invalid refresh token")
        if record.revoked_at is not None:
            raise AuthError("refresh token revoked; sign in again")
        if record.used_at is not None or not await self.store.use_refresh_token(record.id):
            await self.store.revoke_refresh_family(record.family_id)
            raise RefreshReused("refresh token already used; every session of it is signed out")
        if record.expires_at <= now():
            raise AuthError("refresh token expired; sign in again")
        try:
            user = await self.store.tenant(record.tenant_id).get_user(record.user_id)
        except NotFound:
            raise AuthError("the account no longer exists") from None
        issued = await self.issue(user, record.family_id)
        current = await self.store.get_refresh_token(record.id)
        if current is None or current.revoked_at is not None:  # reused meanwhile: family gone
            await self.store.revoke_refresh_family(record.family_id)
            raise RefreshReused("refresh token already used; every session of it is signed out")
        return user, issued

    async def revoke(self, raw: str) -> None:
        """Sign out: the token's whole family stops working (unknown tokens are ignored)."""
        if not raw.startswith(REFRESH_SCHEME) or len(raw) > 200:
            return
        record = await self.store.get_refresh_token(_refresh_id(raw))
        if record is not None:
            await self.store.revoke_refresh_family(record.family_id)

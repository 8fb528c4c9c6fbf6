"""Publishable API keys: issued once, stored as a hash, checked on every use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from oratio_voice.models import ApiKey, now
from oratio_voice.store.base import Store

KEY_SCHEME = "ov_pk_"


class KeyRejected(Exception):
    """A key failed a check; `code` is the WebSocket close code / HTTP status it maps to."""

    code = 4401
    status = 401


class InvalidKey(KeyRejected):
    """Missing, unknown, revoked or expired key."""


class OriginNotAllowed(KeyRejected):
    code = 4403
    status = 403


class WrongAgent(KeyRejected):
    code = 4404
    status = 404


class RateLimited(KeyRejected):
    code = 4429
    status = 429


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_key(
    tenant_id: str,
    agent_id: str,
    *,
    name: str = "",
    allowed_origins: list[str] | None = None,
    rate_limit_per_minute: int = 60,
) -> tuple[ApiKey, str]:
    """A new key record and the secret to show once: `ov_pk_<prefix>.<secret>`."""
    prefix = KEY_SCHEME + secrets.token_hex(4)
    raw = f"{prefix}.{secrets.token_urlsafe(24)}"
    record = ApiKey(
        tenant_id=tenant_id,
        agent_id=agent_id,
        name=name,
        prefix=prefix,
        secret_hash=_hash(raw),
        allowed_origins=allowed_origins or [],
        rate_limit_per_minute=rate_limit_per_minute,
    )
    return record, raw


@dataclass
class KeyChecker:
    """Authenticates a raw key for one agent and origin, enforcing expiry and rate limits."""

    store: Store

    def __post_init__(self) -> None:
        self._uses: defaultdict[str, deque[float]] = defaultdict(deque)

    async def authenticate(self, raw: str, agent_id: str, origin: str | None) -> ApiKey:
        prefix, dot, _ = raw.partition(".")
        if not dot or not prefix.startswith(KEY_SCHEME) or len(raw) > 200:
            raise InvalidKey("missing or malformed API key")
        key = await self.store.find_api_key_by_prefix(prefix)
        if key is None or not hmac.compare_digest(key.secret_hash, _hash(raw)):
            raise InvalidKey("unknown API key")
        if key.revoked_at is not None:
            raise InvalidKey("API key revoked")
        if key.expires_at is not None and key.expires_at <= now():
            raise InvalidKey("API key expired")
        if key.agent_id != agent_id:
            raise WrongAgent("unknown agent for this key")
        if key.allowed_origins and (origin or "") not in key.allowed_origins:
            raise OriginNotAllowed(f"origin {origin or '(none)'} not allowed for this key")
        self._count_use(key)
        key = await self.store.tenant(key.tenant_id).record_api_key_use(key.id, now())
        if key.revoked_at is not None:  # revoked while we were checking
            raise InvalidKey("API key revoked")
        return key

    def _count_use(self, key: ApiKey) -> None:
        uses = self._uses[key.id]
        moment = time.monotonic()
        while uses and moment - uses[0] > 60:
            uses.popleft()
        if len(uses) >= key.rate_limit_per_minute:
            raise RateLimited("rate limit of this API key exceeded")
        uses.append(moment)

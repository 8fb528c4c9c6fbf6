"""Short-lived signed links to call recordings: the audio player needs a plain URL (no bearer
header), so the link itself carries its authority, bound to one session and one deadline."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from oratio_voice.models import now


class InvalidLink(Exception):
    """The signature does not match or the link has expired."""


class RecordingSigner:
    def __init__(self, secret: str, ttl_seconds: float) -> None:
        self._key = hashlib.sha256(b"oratio recording links\x00" + secret.encode()).digest()
        self.ttl = ttl_seconds

    def link(self, tenant_id: str, session_id: str) -> tuple[str, datetime]:
        """The download path with its query, and when it stops working."""
        expires_at = (now() + timedelta(seconds=self.ttl)).replace(microsecond=0)
        expires = int(expires_at.timestamp())
        query = urlencode(
            {
                "tenant": tenant_id,
                "expires": expires,
                "signature": self._sign(tenant_id, session_id, expires),
            }
        )
        return f"/api/recordings/{session_id}?{query}", expires_at

    def check(self, tenant_id: str, session_id: str, expires: int, signature: str) -> None:
        expected = self._sign(tenant_id, session_id, expires)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise InvalidLink("invalid recording link")
        try:
            deadline = datetime.fromtimestamp(expires, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidLink("invalid recording link") from None
        if deadline <= now():
            raise InvalidLink("the recording link has expired; open the session again")

    def _sign(self, tenant_id: str, session_id: str, expires: int) -> str:
        message = f"{tenant_id}\n{session_id}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

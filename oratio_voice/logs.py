"""Logging that keeps secrets out: access tokens and keys in WebSocket URLs are redacted."""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"([?&](?:token|key|access_token)=)[^&\s\"]+")


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Rewrites log arguments such as uvicorn's `"WebSocket /api/live?token=..."` lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_server_logs() -> None:
    """Install the filter on the server's loggers (uvicorn logs request paths with queries)."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactSecrets())

"""Secrets in request URLs never reach the server log."""

from __future__ import annotations

import logging

from oratio_voice.logs import RedactSecrets


def test_tokens_and_keys_in_urls_are_redacted() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/api/live?token=eyJ.secret.sig&x=1"),
        None,
    )
    assert RedactSecrets().filter(record)
    line = record.getMessage()
    assert "eyJ" not in line and "token=[redacted]&x=1" in line
    plain = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "GET /ws/browser?agent=a&key=ov_pk_1.s", None, None
    )
    RedactSecrets().filter(plain)
    assert plain.getMessage() == "GET /ws/browser?agent=a&key=[redacted]"

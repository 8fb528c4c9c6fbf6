"""The Connector seam: a live call's edge. It turns its wire protocol into frames (the route
that owns the socket pushes them into the call) and sends frames back; it knows how to
transfer and hang up ITS call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.frames import Frame


class ProtocolError(Exception):
    """A message that breaks the wire protocol; `code` is the WebSocket close code to use."""

    def __init__(self, message: str, code: int = 4400) -> None:
        super().__init__(message)
        self.code = code


class SoftError(Exception):
    """A bad message the call survives: the connector reports or skips it."""


def json_object(text: str, error: type[Exception]) -> dict[str, Any]:
    """A wire message that must be a JSON object; anything else raises `error`."""
    try:
        message = json.loads(text)
    except ValueError:
        raise error("message is not JSON") from None
    if not isinstance(message, dict):
        raise error("message must be a JSON object")
    return message


class TransferError(Exception):
    """The channel could not hand the call to a person."""


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """Where a handed-off call goes: a named queue, or a number / SIP URI to dial."""

    queue: str = "support"
    number: str = ""
    warm: bool = True


class CallConnector(Protocol):
    channel: str

    def send(self, frame: Frame) -> None:
        """Queue a frame for the caller; never blocks (the writer runs in its own task)."""

    async def transfer(self, target: TransferTarget, reason: str, summary: str) -> None:
        """Hand the live call to a person; raises TransferError."""

    async def hangup(self, reason: str) -> None:
        """End the call from our side."""

"""SOP uploads: the request body is capped while it streams in (413 before it is all read),
and each document is checked by the creator's intake (type by content, size, text layer)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response, UploadFile
from fastapi.routing import APIRoute
from starlette.types import Message

from oratio_voice.agents.intake import (
    ExtensionMismatch,
    ExtractedDocument,
    IntakeError,
    OversizedDocument,
    TooManyDocuments,
    UnsupportedDocumentType,
    intake_documents,
)
from oratio_voice.services import Services


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the upload is larger than {limit:,} bytes")


class UploadLimitRoute(APIRoute):
    """A route whose request body may not exceed `max_upload_request_bytes`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            services: Services = request.app.state.oratio
            limit = services.settings.max_upload_request_bytes
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise too_large(limit)
            received = 0

            async def receive() -> Message:
                nonlocal received
                message = await request.receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise too_large(limit)
                return message

            return await handler(Request(request.scope, receive))

        return limited


async def read_uploads(files: list[UploadFile], max_bytes: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of each upload; 413 naming the first one over `max_bytes`."""
    out = []
    for upload in files:
        data = await upload.read(max_bytes + 1)
        name = upload.filename or "document"
        if len(data) > max_bytes:
            raise HTTPException(413, f"{name}: larger than the {max_bytes:,}-byte limit")
        out.append((name, data))
    return out


async def check_documents(
    files: list[tuple[str, bytes]],
    *,
    tenant_id: str,
    agent_id: str,
    max_bytes: int,
    max_files: int,
) -> list[ExtractedDocument]:
    """Run the creator's intake (off the event loop: PDFs take a while); HTTP errors for
    documents it refuses: 413 too large, 415 not an SOP format, 422 anything else."""

    def intake() -> list[ExtractedDocument]:
        return asyncio.run(
            intake_documents(
                files,
                tenant_id=tenant_id,
                agent_id=agent_id,
                blobs=None,
                max_bytes=max_bytes,
                max_files=max_files,
            )
        )

    try:
        return await asyncio.to_thread(intake)
    except OversizedDocument as exc:
        raise HTTPException(413, str(exc)) from None
    except (UnsupportedDocumentType, ExtensionMismatch) as exc:
        raise HTTPException(415, str(exc)) from None
    except TooManyDocuments as exc:
        raise HTTPException(422, str(exc)) from None
    except IntakeError as exc:
        raise HTTPException(422, str(exc)) from None

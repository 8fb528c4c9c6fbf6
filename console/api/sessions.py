"""/api/sessions: call and chat history with filters, the calls live now, one session, its
transcript, and a short-lived signed link to its recording (served by /api/recordings)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from console.deps import CurrentUser, Responses, ServicesDep, StateDep, not_found
from console.recordings import InvalidLink
from console.schemas import RecordingLink, SessionOut, SessionPage, TurnOut
from oratio_voice.models import CallSession, Channel, SessionStatus, now
from oratio_voice.store.base import NotFound, TenantStore

router = APIRouter(tags=["sessions"])

NOT_FOUND: Responses = {404: {"description": "no such session in your organization"}}
LIVE_LOOKBACK = timedelta(days=1)  # handed-off calls still connected started within this
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


async def load_session(tenant: TenantStore, session_id: str) -> CallSession:
    try:
        return await tenant.get_session(session_id)
    except NotFound:
        not_found("session", session_id)


@router.get("/api/sessions", response_model=SessionPage)
async def list_sessions(
    principal: CurrentUser,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    channel: Channel | None = None,
    status: SessionStatus | None = None,
    handoff: Annotated[bool | None, Query(description="only (or no) handed-off sessions")] = None,
    since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SessionPage:
    """Sessions newest first, filtered and paged."""
    try:
        found = await principal.tenant.list_sessions(
            agent_id=agent_id,
            channel=channel,
            status=status,
            since=since,
            until=until,
            handoff=handoff,
            limit=limit + 1,
            offset=offset,
        )
    except (OverflowError, ValueError) as exc:
        raise HTTPException(422, f"invalid filter: {exc}") from None
    more = len(found) > limit
    return SessionPage(
        items=[SessionOut.of(s) for s in found[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


@router.get("/api/sessions/live", response_model=list[SessionOut])
async def live_sessions(principal: CurrentUser) -> list[SessionOut]:
    """Calls in progress: talking to the AI, or handed off and still connected."""
    tenant = principal.tenant
    active = await tenant.list_sessions(status="active", limit=500)
    waiting = await tenant.list_sessions(status="handoff", since=now() - LIVE_LOOKBACK, limit=500)
    live = active + [s for s in waiting if s.ended_at is None]
    live.sort(key=lambda s: s.started_at, reverse=True)
    return [SessionOut.of(s) for s in live]


@router.get("/api/sessions/{session_id}", response_model=SessionOut, responses=NOT_FOUND)
async def get_session(session_id: str, principal: CurrentUser) -> SessionOut:
    return SessionOut.of(await load_session(principal.tenant, session_id))


@router.get(
    "/api/sessions/{session_id}/transcript", response_model=list[TurnOut], responses=NOT_FOUND
)
async def transcript(session_id: str, principal: CurrentUser) -> list[TurnOut]:
    """The turns in order: caller, agent, operator and system lines."""
    try:
        turns = await principal.tenant.list_turns(session_id)
    except NotFound:
        not_found("session", session_id)
    return [TurnOut.model_validate(t) for t in turns]


@router.get(
    "/api/sessions/{session_id}/recording", response_model=RecordingLink, responses=NOT_FOUND
)
async def recording_link(
    session_id: str, principal: CurrentUser, services: ServicesDep, state: StateDep
) -> RecordingLink:
    """A link to the call's stereo WAV (caller left, agent right) that works for a few
    minutes without a bearer token, for an audio player."""
    session = await load_session(principal.tenant, session_id)
    if not session.recording_key:
        raise HTTPException(404, f"session {session_id} has no recording")
    url, expires_at = state.recordings.link(principal.tenant_id, session.id)
    return RecordingLink(url=url, expires_at=expires_at)


@router.get(
    "/api/recordings/{session_id}",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "the recording"},
        206: {"content": {"audio/wav": {}}, "description": "a byte range of it"},
        403: {"description": "invalid or expired link"},
        404: {"description": "no recording"},
        416: {"description": "unsatisfiable range"},
    },
)
async def download_recording(
    session_id: str,
    request: Request,
    services: ServicesDep,
    state: StateDep,
    tenant: Annotated[str, Query(max_length=64)],
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(max_length=128)],
) -> Response:
    """The recording behind a signed link from /api/sessions/{id}/recording."""
    try:
        state.recordings.check(tenant, session_id, expires, signature)
    except InvalidLink as exc:
        raise HTTPException(403, str(exc)) from None
    session = await load_session(services.store.tenant(tenant), session_id)
    try:
        audio = await services.blobs.get(session.recording_key) if session.recording_key else b""
    except NotFound:
        audio = b""
    if not audio:
        raise HTTPException(404, f"session {session_id} has no recording")
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=60",
        "Content-Disposition": f'inline; filename="{session_id}.wav"',
    }
    match = RANGE.match(request.headers.get("range", ""))
    if match is None or match.groups() == ("", ""):
        return Response(audio, media_type="audio/wav", headers=headers)
    first, last = match.groups()
    size = len(audio)
    start = int(first) if first else max(size - int(last), 0)
    end = min(int(last), size - 1) if first and last else size - 1
    if start >= size or start > end:
        raise HTTPException(416, "range not satisfiable", headers={"Content-Range": f"*/{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(audio[start : end + 1], 206, media_type="audio/wav", headers=headers)

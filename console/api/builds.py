"""/api/agents/{id}/build: an agent build's stage-by-stage progress, as Server-Sent Events
(`event: progress` per stage event, then one `event: end`) or as a JSON snapshot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from console.api.agents import NOT_FOUND, load_agent
from console.auth import AuthError
from console.builds import BuildLog
from console.deps import (
    CurrentUser,
    Principal,
    StateDep,
    bearer,
    principal_from_token,
    services_of,
    state_of,
    unauthorized,
)
from console.schemas import BuildEventOut, BuildStatus
from oratio_voice.models import Agent

router = APIRouter(prefix="/api/agents", tags=["agents"])

KEEPALIVE_SECONDS = 15.0


async def header_or_query_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: Annotated[
        str, Query(max_length=4096, description="access token, for EventSource (no headers)")
    ] = "",
) -> Principal:
    raw = credentials.credentials if credentials is not None else token
    if not raw:
        unauthorized("not signed in: send a bearer token or ?token=")
    try:
        return await principal_from_token(services_of(request), state_of(request), raw)
    except AuthError as exc:
        unauthorized(str(exc))


def _snapshot(agent: Agent, build: BuildLog | None) -> BuildStatus:
    if build is None:
        state = "failed" if agent.status == "failed" else "none"
        return BuildStatus(agent_id=agent.id, state=state, events=[])
    return BuildStatus(
        agent_id=agent.id,
        state=build.state,
        error=build.error,
        events=[BuildEventOut.model_validate(e) for e in build.events],
    )


@router.get("/{agent_id}/build/status", response_model=BuildStatus, responses=NOT_FOUND)
async def build_status(agent_id: str, principal: CurrentUser, state: StateDep) -> BuildStatus:
    """The agent's latest build: state (running/done/failed/interrupted/none) and its events."""
    agent = await load_agent(principal.tenant, agent_id)
    return _snapshot(agent, await state.builds.log_of(agent))


@router.get(
    "/{agent_id}/build",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "progress events"},
        **NOT_FOUND,
    },
)
async def build_events(
    agent_id: str,
    principal: Annotated[Principal, Depends(header_or_query_principal)],
    state: StateDep,
) -> StreamingResponse:
    """Server-Sent Events: `progress` ({stage, status, detail, at}) for every stage event so
    far and as they happen, then `end` ({state, error, agent_status}); the stream closes."""
    agent = await load_agent(principal.tenant, agent_id)
    build = await state.builds.log_of(agent)
    tracker = state.builds
    tenant = principal.tenant

    async def stream() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        if build is not None:
            async for event in tracker.follow(build, KEEPALIVE_SECONDS):
                yield ": keep-alive\n\n" if event is None else _sse("progress", event.to_dict())
        final = _snapshot(agent, build)
        try:
            status = (await tenant.get_agent(agent.id)).status
        except Exception:
            status = agent.status
        yield _sse("end", {"state": final.state, "error": final.error, "agent_status": status})

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(kind: str, data: dict[str, str]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

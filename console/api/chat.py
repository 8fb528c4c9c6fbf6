"""POST /api/chat/{agent_id}: text chat for websites, with a publishable API key (X-Api-Key or
Authorization: Bearer), checked like the widget's: expiry, revocation, origin, rate limit.
Answers carry CORS headers for the calling origin; the key's origin list is the real gate."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials

from console.chat import ChatExchange, UnknownChat
from console.deps import ServicesDep, StateDep, bearer
from console.schemas import ChatRequest, ChatResponse
from oratio_voice.keys import KeyRejected
from oratio_voice.store.base import NotFound

router = APIRouter(prefix="/api/chat", tags=["chat"])
api_key_header = APIKeyHeader(
    name="X-Api-Key", auto_error=False, description="publishable key (ov_pk_...)"
)


def cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


@router.options("/{agent_id}", include_in_schema=False)
async def preflight(agent_id: str, request: Request) -> Response:
    headers = {
        **cors_headers(request),
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, X-Api-Key, Authorization",
        "Access-Control-Max-Age": "600",
    }
    return Response(status_code=204, headers=headers)


@router.post(
    "/{agent_id}",
    response_model=ChatResponse,
    responses={
        401: {"description": "missing, unknown, revoked or expired key"},
        403: {"description": "origin not allowed for this key"},
        404: {"description": "unknown agent or session (or the key is for another agent)"},
        409: {"description": "the agent is not ready (still building, or its build failed)"},
        429: {"description": "rate limit of the key exceeded"},
    },
)
async def chat(
    agent_id: str,
    body: ChatRequest,
    request: Request,
    response: Response,
    services: ServicesDep,
    state: StateDep,
    x_api_key: Annotated[str | None, Depends(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> ChatResponse:
    """Send one message; the answer cites the SOP passages it rests on. Pass the returned
    `session_id` to continue the conversation. `handoff` is true once a person must take over."""
    cors = cors_headers(request)
    response.headers.update(cors)
    raw = x_api_key or (credentials.credentials if credentials is not None else "")
    if not raw:
        raise HTTPException(401, "missing API key: send X-Api-Key", headers=cors)
    try:
        key = await services.keys.authenticate(raw, agent_id, request.headers.get("origin"))
        agent = await services.store.tenant(key.tenant_id).get_agent(agent_id)
    except KeyRejected as exc:
        raise HTTPException(exc.status, str(exc), headers=cors) from None
    except NotFound:
        raise HTTPException(404, f"agent {agent_id} not found", headers=cors) from None
    if agent.status == "archived":
        raise HTTPException(404, f"agent {agent_id} not found", headers=cors)
    if agent.status in ("building", "failed"):
        raise HTTPException(409, f"the agent is not ready ({agent.status})", headers=cors)
    exchange = ChatExchange(services, agent)
    caller = request.headers.get("origin") or (request.client.host if request.client else "")
    # A new session's id is fresh; a continued one takes one message at a time.
    async with state.chat_lock(body.session_id) if body.session_id else nullcontext():
        try:
            session, seq = await exchange.session(body.session_id, caller)
        except UnknownChat:
            raise HTTPException(404, f"session {body.session_id} not found", headers=cors) from None
        answer = await exchange.answer(session, seq, body.message)
    return ChatResponse(
        session_id=answer.session_id,
        answer=answer.answer,
        sources=answer.sources,
        handoff=bool(answer.handoff_reason),
        handoff_reason=answer.handoff_reason,
    )

"""/api/api-keys: publishable keys for the widget and text chat, bound to one agent and a list
of origins; the secret is shown once, only its hash is kept; revoked keys stop at once."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, HTTPException, Response

from console.api.agents import NOT_FOUND, load_agent
from console.deps import CurrentUser, not_found
from console.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from oratio_voice.keys import issue_key
from oratio_voice.models import now
from oratio_voice.store.base import NotFound

router = APIRouter(prefix="/api/api-keys", tags=["api keys"])


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=NOT_FOUND)
async def create_key(body: ApiKeyCreate, principal: CurrentUser) -> ApiKeyCreated:
    """A new key for one of your agents. `secret` is in this answer only."""
    agent = await load_agent(principal.tenant, body.agent_id)
    expires_at = body.expires_at
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= now():
            raise HTTPException(422, "expires_at must be in the future")
    record, secret = issue_key(
        principal.tenant_id,
        agent.id,
        name=body.name,
        allowed_origins=body.allowed_origins,
        rate_limit_per_minute=body.rate_limit_per_minute,
    )
    record.expires_at = expires_at
    try:
        await principal.tenant.put_api_key(record)
    except NotFound:  # the agent went away meanwhile
        not_found("agent", body.agent_id)
    await principal.audit(
        "api_key.create", record.id, agent_id=agent.id, prefix=record.prefix, name=body.name
    )
    return ApiKeyCreated.model_validate({**ApiKeyOut.of(record).model_dump(), "secret": secret})


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(principal: CurrentUser, agent_id: str | None = None) -> list[ApiKeyOut]:
    """Your organization's keys, newest first (never their secrets)."""
    keys = await principal.tenant.list_api_keys()
    return [ApiKeyOut.of(k) for k in keys if agent_id is None or k.agent_id == agent_id]


@router.delete(
    "/{key_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "no such key in your organization"}},
)
async def revoke_key(key_id: str, principal: CurrentUser) -> Response:
    """Revoke the key: the widget and chat refuse it from now on."""
    try:
        key = await principal.tenant.get_api_key(key_id)
    except NotFound:
        not_found("API key", key_id)
    if key.revoked_at is None:
        key.revoked_at = now()
        await principal.tenant.put_api_key(key)
        await principal.audit("api_key.revoke", key.id, prefix=key.prefix)
    return Response(status_code=204)

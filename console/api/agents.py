"""/api/agents: create from SOP documents (built in the background), list, read, rename,
configure, pause and resume, delete (archive: data kept, keys revoked, numbers released)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile

from console.agent_config import AgentConfigPatch
from console.deps import CurrentUser, Responses, ServicesDep, StateDep, not_found
from console.schemas import AgentOut, AgentPatch
from console.uploads import UploadLimitRoute, check_documents, read_uploads
from oratio_voice.events import AGENT_UPDATED, Event
from oratio_voice.models import Agent, AgentStatus, new_id, now
from oratio_voice.services import Services
from oratio_voice.store.base import Conflict, NotFound, TenantStore

router = APIRouter(prefix="/api/agents", tags=["agents"])
upload_router = APIRouter(prefix="/api/agents", tags=["agents"], route_class=UploadLimitRoute)

NOT_FOUND: Responses = {404: {"description": "no such agent in your organization"}}
BUSY: Responses = {409: {"description": "the agent's state does not allow this now"}}


async def load_agent(tenant: TenantStore, agent_id: str) -> Agent:
    """The tenant's agent; 404 for unknown, archived and other tenants' ids alike."""
    try:
        agent = await tenant.get_agent(agent_id)
    except NotFound:
        not_found("agent", agent_id)
    if agent.status == "archived":
        not_found("agent", agent_id)
    return agent


def _not_building(agent: Agent) -> None:
    if agent.status == "building":
        raise HTTPException(409, "the agent is still building; try again when the build is done")


async def _save(services: Services, tenant: TenantStore, agent: Agent) -> AgentOut:
    agent.updated_at = now()
    try:
        await tenant.put_agent(agent)
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    await services.events.publish(
        Event(AGENT_UPDATED, agent.tenant_id, {"agent_id": agent.id, "status": agent.status})
    )
    return AgentOut.model_validate(agent)


@router.get("", response_model=list[AgentOut])
async def list_agents(principal: CurrentUser, include_archived: bool = False) -> list[AgentOut]:
    """The organization's agents, oldest first."""
    agents = await principal.tenant.list_agents(include_archived=include_archived)
    return [AgentOut.model_validate(a) for a in agents]


@upload_router.post(
    "",
    status_code=202,
    response_model=AgentOut,
    responses={
        413: {"description": "a document or the upload is too large"},
        415: {"description": "a document is not Markdown, text, PDF or DOCX"},
        422: {"description": "a document cannot be used (empty, scanned, corrupt...)"},
    },
)
async def create_agent(
    principal: CurrentUser,
    services: ServicesDep,
    state: StateDep,
    name: Annotated[str, Form(min_length=1, max_length=120)],
    files: Annotated[list[UploadFile], File(description="SOP documents: .md, .txt, .pdf, .docx")],
    description: Annotated[str, Form(max_length=1000)] = "",
) -> AgentOut:
    """Upload SOP documents and start building an agent from them. The agent answers with
    status `building`; follow `GET /api/agents/{id}/build` for stage-by-stage progress."""
    settings = services.settings
    if not name.strip():
        raise HTTPException(422, "the agent needs a name")
    if len(files) > settings.max_upload_files:
        raise HTTPException(422, f"at most {settings.max_upload_files} documents per agent")
    uploads = await read_uploads(files, settings.max_upload_bytes)
    agent_id = new_id("agt")
    accepted = await check_documents(
        uploads,
        tenant_id=principal.tenant_id,
        agent_id=agent_id,
        max_bytes=settings.max_upload_bytes,
        max_files=settings.max_upload_files,
    )
    named = [(d.document.name, data) for (_, data), d in zip(uploads, accepted, strict=True)]
    for (_, data), document in zip(named, accepted, strict=True):
        await services.blobs.put(document.document.blob_key, data)
    agent = Agent(
        id=agent_id,
        tenant_id=principal.tenant_id,
        name=name.strip(),
        description=description,
        status="building",
        version=0,
        documents=[d.document for d in accepted],
    )
    out = await _save(services, principal.tenant, agent)
    await principal.audit(
        "agent.create", agent.id, name=agent.name, documents=[d.name for d in agent.documents]
    )
    state.builds.start(agent, named)
    return out


@router.get("/{agent_id}", response_model=AgentOut, responses=NOT_FOUND)
async def get_agent(agent_id: str, principal: CurrentUser) -> AgentOut:
    return AgentOut.model_validate(await load_agent(principal.tenant, agent_id))


@router.patch("/{agent_id}", response_model=AgentOut, responses={**NOT_FOUND, **BUSY})
async def update_agent(
    agent_id: str, body: AgentPatch, principal: CurrentUser, services: ServicesDep
) -> AgentOut:
    """Rename the agent or change its description."""
    agent = await load_agent(principal.tenant, agent_id)
    _not_building(agent)
    changes: dict[str, Any] = {
        k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None
    }
    for key, value in changes.items():
        setattr(agent, key, value)
    out = await _save(services, principal.tenant, agent)
    await principal.audit("agent.update", agent.id, **changes)
    return out


@router.patch("/{agent_id}/config", response_model=AgentOut, responses={**NOT_FOUND, **BUSY})
async def configure_agent(
    agent_id: str, body: AgentConfigPatch, principal: CurrentUser, services: ServicesDep
) -> AgentOut:
    """Change voice, greeting, language, phone numbers (E.164), handoff rules and target
    queue, business hours, recording. Only the fields sent change; 409 if a number belongs
    to another agent."""
    agent = await load_agent(principal.tenant, agent_id)
    _not_building(agent)
    agent.config = body.apply(agent.config)
    out = await _save(services, principal.tenant, agent)
    await principal.audit("agent.config", agent.id, changes=body.changes())
    return out


async def _set_status(
    agent_id: str, principal: CurrentUser, services: Services, want: AgentStatus, frm: AgentStatus
) -> AgentOut:
    agent = await load_agent(principal.tenant, agent_id)
    if agent.status not in (want, frm):
        raise HTTPException(409, f"a {agent.status} agent cannot be {want}")
    agent.status = want
    out = await _save(services, principal.tenant, agent)
    await principal.audit("agent.pause" if want == "paused" else "agent.resume", agent.id)
    return out


@router.put("/{agent_id}/pause", response_model=AgentOut, responses={**NOT_FOUND, **BUSY})
async def pause_agent(agent_id: str, principal: CurrentUser, services: ServicesDep) -> AgentOut:
    """New calls go straight to a person until the agent is resumed."""
    return await _set_status(agent_id, principal, services, "paused", "active")


@router.put("/{agent_id}/resume", response_model=AgentOut, responses={**NOT_FOUND, **BUSY})
async def resume_agent(agent_id: str, principal: CurrentUser, services: ServicesDep) -> AgentOut:
    return await _set_status(agent_id, principal, services, "active", "paused")


@router.delete("/{agent_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_agent(
    agent_id: str, principal: CurrentUser, services: ServicesDep, state: StateDep
) -> Response:
    """Archive the agent: its sessions and documents are kept, its API keys revoked and its
    phone numbers released; it no longer answers. A build in progress is stopped."""
    tenant = principal.tenant
    agent = await load_agent(tenant, agent_id)
    if agent.status == "building":
        await state.builds.cancel(principal.tenant_id, agent.id)
        agent = await load_agent(tenant, agent_id)
    revoked = []
    for key in await tenant.list_api_keys():
        if key.agent_id == agent.id and key.revoked_at is None:
            key.revoked_at = now()
            await tenant.put_api_key(key)
            revoked.append(key.prefix)
    released = agent.config.phone_numbers
    agent.config = agent.config.model_copy(update={"phone_numbers": []})
    agent.status = "archived"
    await _save(services, tenant, agent)
    await principal.audit("agent.delete", agent.id, revoked_keys=revoked, released=released)
    return Response(status_code=204)

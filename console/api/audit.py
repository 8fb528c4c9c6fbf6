"""GET /api/audit: who changed what and when in the organization (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from console.deps import AdminUser
from console.schemas import AuditOut

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=list[AuditOut], responses={403: {"description": "not an admin"}})
async def audit_log(
    principal: AdminUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(max_length=64, description="e.g. agent.config")] = None,
) -> list[AuditOut]:
    """The latest entries, newest first."""
    entries = await principal.tenant.list_audit(limit=limit if action is None else 1000)
    if action is not None:
        entries = [e for e in entries if e.action == action][:limit]
    return [AuditOut.model_validate(e) for e in entries]

"""/api/notifications: handoff and build notices; mark read, acknowledge (someone is on it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from console.deps import CurrentUser, Responses, ServicesDep, not_found
from console.schemas import NotificationOut
from oratio_voice.events import Event
from oratio_voice.models import Notification, now
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound, TenantStore

router = APIRouter(prefix="/api/notifications", tags=["notifications"])

NOT_FOUND: Responses = {404: {"description": "no such notification in your organization"}}
NOTIFICATION_UPDATED = "notification.updated"


async def _load(tenant: TenantStore, notification_id: str) -> Notification:
    try:
        return await tenant.get_notification(notification_id)
    except NotFound:
        not_found("notification", notification_id)


async def _save(services: Services, tenant: TenantStore, note: Notification) -> NotificationOut:
    await tenant.put_notification(note)
    await services.events.publish(
        Event(NOTIFICATION_UPDATED, note.tenant_id, note.model_dump(mode="json"))
    )
    return NotificationOut.model_validate(note)


@router.get("", response_model=list[NotificationOut])
async def list_notifications(
    principal: CurrentUser,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """Newest first; `unread=true` for the unread ones only."""
    notes = await principal.tenant.list_notifications(unread_only=unread)
    return [NotificationOut.model_validate(n) for n in notes[:limit]]


@router.patch("/{notification_id}/read", response_model=NotificationOut, responses=NOT_FOUND)
async def mark_read(
    notification_id: str, principal: CurrentUser, services: ServicesDep
) -> NotificationOut:
    note = await _load(principal.tenant, notification_id)
    if note.read_at is None:
        note.read_at = now()
    return await _save(services, principal.tenant, note)


@router.patch("/{notification_id}/acknowledge", response_model=NotificationOut, responses=NOT_FOUND)
async def acknowledge(
    notification_id: str, principal: CurrentUser, services: ServicesDep
) -> NotificationOut:
    """Someone is taking care of it (also marks it read)."""
    note = await _load(principal.tenant, notification_id)
    moment = now()
    note.read_at = note.read_at or moment
    if note.acknowledged_at is None:
        note.acknowledged_at = moment
        await principal.audit("notification.acknowledge", note.id, title=note.title)
    return await _save(services, principal.tenant, note)

"""Posting a notification: stored first (nothing is lost), then pushed to the live console."""

from __future__ import annotations

from oratio_voice.events import NOTIFICATION, Event, EventBus
from oratio_voice.models import Notification
from oratio_voice.store.base import TenantStore


async def post(tenant: TenantStore, events: EventBus, note: Notification) -> Notification:
    await tenant.put_notification(note)
    await events.publish(Event(NOTIFICATION, note.tenant_id, note.model_dump(mode="json")))
    return note

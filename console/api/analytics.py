"""GET /api/analytics?days=30: the organization's contact-center figures for the last days."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from console.analytics import Analytics, compute
from console.deps import CurrentUser
from oratio_voice.models import CallSession, now

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

PAGE = 500
MAX_SESSIONS = 50_000  # beyond this the figures are computed over the newest sessions


@router.get("", response_model=Analytics)
async def analytics(
    principal: CurrentUser, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> Analytics:
    """Calls per day (UTC), average duration, containment vs handoff rate, top handoff
    reasons and the same by channel, over sessions started in the last `days` days."""
    today = now().replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    sessions: list[CallSession] = []
    while len(sessions) < MAX_SESSIONS:
        page = await principal.tenant.list_sessions(since=since, limit=PAGE, offset=len(sessions))
        sessions += page
        if len(page) < PAGE:
            break
    return compute(sessions, days=days, since=since)

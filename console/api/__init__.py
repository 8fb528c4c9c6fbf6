"""The console's API routers, mounted by the app factory (oratio_voice.app)."""

from __future__ import annotations

from fastapi import APIRouter

from console.api import (
    agents,
    analytics,
    api_keys,
    audit,
    auth,
    builds,
    chat,
    live,
    notifications,
    queue,
    sessions,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    agents.upload_router,
    builds.router,
    agents.router,
    api_keys.router,
    sessions.router,
    notifications.router,
    chat.router,
    live.router,
    audit.router,
    analytics.router,
    queue.router,
)

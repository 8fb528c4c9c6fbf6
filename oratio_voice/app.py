"""The composition root: `create_app` for a standalone server, `mount` to embed the plugin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from console.api import ROUTERS as CONSOLE_ROUTERS
from console.state import console_lifespan
from console.ui import router as console_ui_router
from oratio_voice import __version__
from oratio_voice.config import Settings
from oratio_voice.routes import browser, health, twilio, web
from oratio_voice.services import Services
from pipeline.engines.base import SpeechEngine

ROUTERS = (
    health.router,
    browser.router,
    twilio.router,
    web.router,
    *CONSOLE_ROUTERS,
    console_ui_router,
)


def mount(
    app: FastAPI,
    settings: Settings | None = None,
    *,
    engine: SpeechEngine | None = None,
    demo: bool = False,
) -> Services:
    """Add Oratio's routes to an existing FastAPI app; its services start with the app."""
    services = Services.from_settings(settings or Settings(), engine=engine)
    app.state.oratio = services
    for router in ROUTERS:
        app.include_router(router)
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with services.running(), console_lifespan(services):
            if demo:
                from oratio_voice.demo import seed_demo

                services.extra["demo"] = await seed_demo(services)
            async with outer(application) as state:
                yield state

    app.router.lifespan_context = lifespan
    return services


def create_app(
    settings: Settings | None = None, *, engine: SpeechEngine | None = None, demo: bool = False
) -> FastAPI:
    """A standalone Oratio server."""
    app = FastAPI(
        title="Oratio Voice",
        version=__version__,
        description="Voice agents from SOPs on phone, Amazon Connect and the web.",
    )
    mount(app, settings, engine=engine, demo=demo)
    return app

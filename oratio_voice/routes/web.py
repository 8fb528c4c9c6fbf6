"""The widget's assets and the `/demo` page (a business page with the widget on it)."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from oratio_voice.services import Services

WEB_DIR = Path(__file__).resolve().parents[2] / "connectors" / "web"
ASSETS = {"widget.js", "mic-worklet.js"}

router = APIRouter(tags=["widget"])


@router.get("/widget.js", include_in_schema=False)
async def widget_js() -> FileResponse:
    return _asset("widget.js")


@router.get("/mic-worklet.js", include_in_schema=False)
async def mic_worklet_js() -> FileResponse:
    return _asset("mic-worklet.js")


def _asset(name: str) -> FileResponse:
    return FileResponse(
        WEB_DIR / name,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
async def demo_page(request: Request) -> HTMLResponse:
    services: Services = request.app.state.oratio
    demo = services.extra.get("demo")
    if demo is None:
        raise HTTPException(404, "the demo agent is not seeded: run `oratio demo`")
    page = (WEB_DIR / "demo.html").read_text()
    for placeholder, value in (
        ("{{AGENT_ID}}", demo["agent_id"]),
        ("{{API_KEY}}", demo["api_key"]),
        ("{{AGENT_NAME}}", demo["agent_name"]),
    ):
        page = page.replace(placeholder, html.escape(value, quote=True))
    return HTMLResponse(page)

"""GET /console (and any path under it): the single-page console; /console/static/...: its
assets, served from this package only (no CDN), with a strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

STATIC = Path(__file__).resolve().parent / "static"
INDEX = STATIC / "index.html"

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # element.style from the charts and progress bars
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/console/static/{asset:path}")
async def static_asset(asset: str) -> FileResponse:
    """A file of the UI; revalidated on each load (ETag), so an upgrade shows at once."""
    path = (STATIC / asset).resolve()
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or not path.is_relative_to(STATIC) or not path.is_file():
        raise HTTPException(404, f"no console asset {asset!r}")
    return FileResponse(path, media_type=media_type, headers=ASSET_HEADERS)


@router.get("/console", response_class=HTMLResponse)
@router.get("/console/{page:path}", response_class=HTMLResponse)
async def console_page(page: str = "") -> HTMLResponse:
    """The shell for every console page; the page itself is drawn in the browser."""
    return HTMLResponse(INDEX.read_text(encoding="utf-8"), headers=PAGE_HEADERS)

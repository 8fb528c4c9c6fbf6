"""Embed Oratio in an existing FastAPI app: `uvicorn examples.embed_fastapi:app`.

Your app keeps its own routes; Oratio adds the widget, the browser and Twilio call routes, the
console API and UI, and /healthz + /readyz, and opens and closes its store with your app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from oratio_voice.app import mount
from oratio_voice.config import Settings

app = FastAPI(title="Acme support site")


@app.get("/")
async def home() -> dict[str, str]:
    return {"hello": "this is Acme's own route"}


mount(app, Settings(data_dir=Path(".oratio-embedded")))

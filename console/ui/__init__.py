"""The console's web UI: one HTML shell and its static assets, served at /console."""

from __future__ import annotations

from console.ui.routes import router

__all__ = ["router"]

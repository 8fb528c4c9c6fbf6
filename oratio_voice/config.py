"""Settings: every backend is chosen here (env prefix ORATIO_), never by code edits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """With nothing set, Oratio runs fully offline: SQLite, local files, local speech engine."""

    model_config = SettingsConfigDict(env_prefix="ORATIO_", extra="ignore")

    data_dir: Path = Field(Path(".oratio"), description="SQLite file, blobs and local secrets")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field("", description="URL callers and webhooks reach, e.g. https://x.io")
    engine: Literal["local"] = Field("local", description="speech engine")
    resume_grace_seconds: float = Field(30.0, description="browser reconnect window")
    max_ws_message_bytes: int = Field(64 * 1024, description="largest WebSocket message")
    max_call_seconds: float = Field(3600.0, description="hard limit of one call")
    log_level: str = "info"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "oratio.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

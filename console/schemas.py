"""Request and response bodies of the console API (what the OpenAPI schema documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from oratio_voice.models import (
    AgentConfig,
    AgentStatus,
    ApiKey,
    CallSession,
    Channel,
    SessionStatus,
    now,
)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]
Password = Annotated[str, Field(min_length=8, max_length=256)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# auth


class RegisterRequest(Body):
    email: Annotated[Email, Field(pattern=EMAIL_PATTERN)]
    password: Password
    organization: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        max_length=120
    )


class LoginRequest(Body):
    email: Email
    password: Annotated[str, Field(max_length=256)]


class RefreshRequest(Body):
    refresh_token: Annotated[str, Field(max_length=200)]


class TokenPair(Out):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")


class UserOut(Out):
    id: str
    email: str
    role: Literal["admin", "member"]
    tenant_id: str
    organization: str
    created_at: datetime


# agents


class DocumentOut(Out):
    name: str
    size: int
    sha256: str
    content_type: str


class AgentOut(Out):
    id: str
    name: str
    description: str
    status: AgentStatus
    config: AgentConfig
    documents: list[DocumentOut]
    version: int
    created_at: datetime
    updated_at: datetime


class AgentPatch(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = Field(
        None, max_length=120
    )
    description: str | None = Field(None, max_length=1000)


class BuildEventOut(Out):
    stage: str
    status: str
    detail: str
    at: datetime


class BuildStatus(Out):
    agent_id: str
    state: Literal["running", "done", "failed", "interrupted", "none"]
    error: str = ""
    events: list[BuildEventOut]


# api keys


def _origin(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValueError(f"{value!r} is not an origin like https://shop.example.com")
    return value.rstrip("/")


Origin = Annotated[str, Field(max_length=253), AfterValidator(_origin)]


class ApiKeyCreate(Body):
    agent_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=120)] = ""
    allowed_origins: Annotated[list[Origin], Field(max_length=20)] = []
    expires_at: datetime | None = Field(None, description="ISO 8601; omitted: never expires")
    rate_limit_per_minute: Annotated[int, Field(ge=1, le=10_000)] = 60


class ApiKeyOut(Out):
    id: str
    agent_id: str
    name: str
    prefix: str
    allowed_origins: list[str]
    rate_limit_per_minute: int
    usage_count: int
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    status: Literal["active", "expired", "revoked"]

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        status: Literal["active", "expired", "revoked"] = "active"
        if key.revoked_at is not None:
            status = "revoked"
        elif key.expires_at is not None and key.expires_at <= now():
            status = "expired"
        return cls.model_validate({**key.model_dump(), "status": status})


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="the full key; shown this once, store it now")


# sessions


class SessionOut(Out):
    id: str
    agent_id: str
    channel: Channel
    status: SessionStatus
    caller: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str
    handoff_reason: str
    summary: str
    input_tokens: int
    output_tokens: int
    duration_seconds: float | None
    has_recording: bool
    metadata: dict[str, Any]

    @classmethod
    def of(cls, session: CallSession) -> SessionOut:
        ended = session.ended_at
        duration = (ended - session.started_at).total_seconds() if ended else None
        return cls.model_validate(
            {
                **session.model_dump(exclude={"recording_key", "tenant_id"}),
                "duration_seconds": duration,
                "has_recording": bool(session.recording_key),
            }
        )


class SessionPage(Out):
    items: list[SessionOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class TurnOut(Out):
    id: str
    seq: int
    role: Literal["caller", "agent", "operator", "system"]
    text: str
    interrupted: bool
    sources: list[str]
    at: datetime


class RecordingLink(Out):
    url: str = Field(description="signed download URL (relative to the server)")
    expires_at: datetime


# notifications, audit


class NotificationOut(Out):
    id: str
    kind: Literal["handoff", "handoff_failed", "build", "system"]
    title: str
    body: str
    session_id: str
    agent_id: str
    created_at: datetime
    read_at: datetime | None
    acknowledged_at: datetime | None


class AuditOut(Out):
    id: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    at: datetime


# chat


class ChatRequest(Body):
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        max_length=2000
    )
    session_id: Annotated[str, Field(max_length=64)] | None = None


class ChatResponse(Out):
    session_id: str
    answer: str
    sources: list[str]
    handoff: bool
    handoff_reason: str


# human queue


class QueueEntry(Out):
    session_id: str
    agent_id: str
    agent_name: str
    caller: str
    started_at: datetime
    handoff_reason: str
    summary: str
    operator: str = Field(description="who picked the call up; empty while it waits")
    transcript: list[TurnOut]


class OperatorMessage(Body):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        max_length=2000
    )

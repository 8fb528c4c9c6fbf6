"""Domain models: tenants, users, agents, call sessions and their turns, notifications, keys."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["browser", "twilio", "connect", "chat"]
SessionStatus = Literal["active", "ended", "handoff", "failed"]
AgentStatus = Literal["building", "active", "paused", "failed", "archived"]


def now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Readable, unguessable ids: `agt_3kq...`."""
    return f"{prefix}_{secrets.token_urlsafe(12).replace('-', 'x').replace('_', 'y')}"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tenant(Model):
    id: str = Field(default_factory=lambda: new_id("ten"))
    name: str
    created_at: datetime = Field(default_factory=now)


class User(Model):
    id: str = Field(default_factory=lambda: new_id("usr"))
    tenant_id: str
    email: str
    password_hash: str
    role: Literal["admin", "member"] = "admin"
    created_at: datetime = Field(default_factory=now)


class HandoffConfig(Model):
    """When and where a call goes to a person."""

    queue: str = "support"
    target: str = ""  # phone number or SIP URI for <Dial>; empty -> enqueue into `queue`
    warm: bool = True
    phrases: list[str] = Field(
        default_factory=lambda: ["human", "person", "agent", "representative", "operator"]
    )
    dtmf: dict[str, str] = Field(default_factory=lambda: {"0": "transfer"})
    max_repeats: int = 3
    negative_sentiment_threshold: float = -0.6
    hand_over_line: str = "Let me connect you with a colleague who can help. One moment please."


class BusinessHours(Model):
    timezone: str = "UTC"
    # weekday (0=Monday) -> "HH:MM-HH:MM"; empty means always open
    days: dict[int, str] = Field(default_factory=dict)


class AgentConfig(Model):
    voice: str = "tiffany"
    greeting: str = "Hello! How can I help you today?"
    language: str = "en-US"
    phone_numbers: list[str] = Field(default_factory=list)
    handoff: HandoffConfig = Field(default_factory=HandoffConfig)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    record_calls: bool = True
    endpointing: Literal["HIGH", "MEDIUM", "LOW"] = "MEDIUM"


class Document(Model):
    """An SOP document stored in the tenant's blob space."""

    name: str
    blob_key: str
    sha256: str
    size: int
    content_type: str = "text/markdown"


class Agent(Model):
    id: str = Field(default_factory=lambda: new_id("agt"))
    tenant_id: str
    name: str
    description: str = ""
    status: AgentStatus = "active"
    config: AgentConfig = Field(default_factory=AgentConfig)
    documents: list[Document] = Field(default_factory=list)
    version: int = 1
    runtime_arn: str = ""
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


class CallSession(Model):
    """One conversation with an agent over one channel."""

    id: str = Field(default_factory=lambda: new_id("ses"))
    tenant_id: str
    agent_id: str
    channel: Channel
    status: SessionStatus = "active"
    caller: str = ""
    started_at: datetime = Field(default_factory=now)
    ended_at: datetime | None = None
    end_reason: str = ""
    handoff_reason: str = ""
    summary: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    recording_key: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class Turn(Model):
    id: str = Field(default_factory=lambda: new_id("trn"))
    tenant_id: str
    session_id: str
    seq: int
    role: Literal["caller", "agent", "operator", "system"]
    text: str
    interrupted: bool = False
    sources: list[str] = Field(default_factory=list)
    at: datetime = Field(default_factory=now)


class Notification(Model):
    id: str = Field(default_factory=lambda: new_id("ntf"))
    tenant_id: str
    kind: Literal["handoff", "handoff_failed", "build", "system"] = "handoff"
    title: str
    body: str = ""
    session_id: str = ""
    agent_id: str = ""
    created_at: datetime = Field(default_factory=now)
    read_at: datetime | None = None
    acknowledged_at: datetime | None = None


class ApiKey(Model):
    """A publishable key bound to one agent; only its hash is stored."""

    id: str = Field(default_factory=lambda: new_id("key"))
    tenant_id: str
    agent_id: str
    name: str = ""
    prefix: str
    secret_hash: str
    allowed_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = 60
    usage_count: int = 0
    created_at: datetime = Field(default_factory=now)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditEntry(Model):
    id: str = Field(default_factory=lambda: new_id("aud"))
    tenant_id: str
    actor: str
    action: str
    target: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    at: datetime = Field(default_factory=now)

"""The Store seam. Tenant isolation is a property of this API: every record read or written
through a `TenantStore` belongs to that tenant, and an id of another tenant reads as absent."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from oratio_voice.models import (
    Agent,
    ApiKey,
    AuditEntry,
    CallSession,
    Notification,
    SessionStatus,
    Tenant,
    Turn,
    User,
    now,
)


class RefreshToken(BaseModel):
    """One console refresh token, stored by the hash of its secret. Tokens rotated from one
    sign-in share a family; presenting a used token again revokes the whole family."""

    model_config = ConfigDict(extra="forbid")

    id: str  # sha256 of the secret
    tenant_id: str
    user_id: str
    family_id: str
    created_at: datetime = Field(default_factory=now)
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class StoreError(Exception):
    """The store could not do what was asked."""


class NotFound(StoreError):
    """No such record for this tenant."""


class Conflict(StoreError):
    """The record already exists (e.g. an e-mail address or phone number in use)."""


class TenantMismatch(StoreError):
    """A record was written through the store of a tenant it does not belong to."""


class TenantStore(Protocol):
    tenant_id: str

    # agents
    async def put_agent(self, agent: Agent) -> Agent: ...
    async def get_agent(self, agent_id: str) -> Agent: ...  # raises NotFound
    async def list_agents(self, include_archived: bool = False) -> list[Agent]: ...

    # sessions and turns
    async def put_session(self, session: CallSession) -> CallSession: ...
    async def get_session(self, session_id: str) -> CallSession: ...
    async def list_sessions(
        self,
        *,
        agent_id: str | None = None,
        channel: str | None = None,
        status: SessionStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        handoff: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[CallSession]: ...
    async def add_turn(self, turn: Turn) -> Turn: ...
    async def list_turns(self, session_id: str) -> list[Turn]: ...

    # notifications
    async def put_notification(self, notification: Notification) -> Notification: ...
    async def get_notification(self, notification_id: str) -> Notification: ...
    async def list_notifications(self, unread_only: bool = False) -> list[Notification]: ...

    # api keys
    async def put_api_key(self, key: ApiKey) -> ApiKey: ...
    async def get_api_key(self, key_id: str) -> ApiKey: ...
    async def record_api_key_use(self, key_id: str, at: datetime) -> ApiKey:
        """Count one use atomically and return the key as it now stands."""
        ...

    async def list_api_keys(self) -> list[ApiKey]: ...

    # users and audit
    async def list_users(self) -> list[User]: ...
    async def get_user(self, user_id: str) -> User: ...  # raises NotFound
    async def add_audit(self, entry: AuditEntry) -> AuditEntry: ...
    async def list_audit(self, limit: int = 100) -> list[AuditEntry]: ...


class Store(Protocol):
    """Cross-tenant lookups exist only where a request arrives before its tenant is known."""

    async def open(self) -> None:
        """Connect and apply pending schema migrations."""

    async def close(self) -> None: ...

    async def check(self) -> None:
        """Raise StoreError if the store cannot serve (used by /readyz)."""

    def tenant(self, tenant_id: str) -> TenantStore: ...

    async def put_tenant(self, tenant: Tenant) -> Tenant: ...
    async def get_tenant(self, tenant_id: str) -> Tenant: ...
    async def put_user(self, user: User) -> User: ...  # Conflict on a used e-mail
    async def find_user_by_email(self, email: str) -> User | None: ...
    async def find_api_key_by_prefix(self, prefix: str) -> ApiKey | None: ...
    async def find_agent_by_number(self, phone_number: str) -> Agent | None: ...
    async def list_live_sessions(self) -> list[CallSession]:
        """Active sessions of every tenant (crash recovery at start-up)."""
        ...

    # console refresh tokens (a refresh arrives before its tenant is known)
    async def put_refresh_token(self, token: RefreshToken) -> RefreshToken: ...
    async def get_refresh_token(self, token_id: str) -> RefreshToken | None: ...
    async def use_refresh_token(self, token_id: str) -> bool:
        """Mark the token used; False if it was already used (atomic: one caller wins)."""
        ...

    async def revoke_refresh_family(self, family_id: str) -> int:
        """Revoke every token of the family; the number revoked."""
        ...


class BlobStore(Protocol):
    """Opaque bytes by key; keys are always prefixed with the tenant id by callers."""

    async def put(self, key: str, data: bytes) -> None: ...
    async def get(self, key: str) -> bytes: ...  # raises NotFound
    async def delete(self, key: str) -> None: ...
    async def list(self, prefix: str) -> list[str]: ...

"""The embedded Store: one SQLite file in WAL mode, migrated on open, tenant-scoped by API."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType

from oratio_voice.models import Agent, ApiKey, CallSession, Tenant, User, now
from oratio_voice.store.base import NotFound, RefreshToken
from oratio_voice.store.sqlite_db import (
    Database,
    Synchronous,
    load,
    micros,
)
from oratio_voice.store.sqlite_tenant import SQLiteTenantStore

__all__ = ["SQLiteStore", "SQLiteTenantStore"]


def normalize_email(email: str) -> str:
    return email.strip().lower()


class SQLiteStore:
    """Store over a SQLite file. `synchronous="NORMAL"` (the default) keeps every committed
    write across a process crash; use "FULL" to also survive power loss, at one fsync a commit.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_ms: int = 5000,
        synchronous: Synchronous = "NORMAL",
    ) -> None:
        self._db = Database(path, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)

    @property
    def path(self) -> Path | str:
        return self._db.path

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._db.path)!r})"

    async def open(self) -> None:
        """Connect (creating the file and its folder if needed) and apply pending migrations."""
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> SQLiteStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def check(self) -> None:
        await self._db.run(lambda conn: conn.execute("SELECT 1").fetchone())

    def tenant(self, tenant_id: str) -> SQLiteTenantStore:
        return SQLiteTenantStore(self._db, tenant_id)

    async def put_tenant(self, tenant: Tenant) -> Tenant:
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO tenants (id, created_at, data) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET"
                " created_at = excluded.created_at, data = excluded.data",
                (tenant.id, micros(tenant.created_at), tenant.model_dump_json()),
            )
        )
        return tenant

    async def get_tenant(self, tenant_id: str) -> Tenant:
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT data FROM tenants WHERE id = ?", (tenant_id,)
            ).fetchall()
        )
        if not rows:
            raise NotFound(f"tenant {tenant_id} not found")
        return load(Tenant, rows)[0]

    async def put_user(self, user: User) -> User:
        """Upsert the user; Conflict if another user has the e-mail (case-insensitive),
        NotFound if the tenant does not exist."""
        await self._db.write(
            "INSERT INTO users (tenant_id, id, email_norm, created_at, data)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET"
            " email_norm = excluded.email_norm, created_at = excluded.created_at,"
            " data = excluded.data",
            (
                user.tenant_id,
                user.id,
                normalize_email(user.email),
                micros(user.created_at),
                user.model_dump_json(),
            ),
            missing=f"tenant {user.tenant_id} not found",
            duplicate=f"the e-mail address {user.email} is already in use",
        )
        return user

    async def find_user_by_email(self, email: str) -> User | None:
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT data FROM users WHERE email_norm = ?", (normalize_email(email),)
            ).fetchall()
        )
        return load(User, rows)[0] if rows else None

    async def find_api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT data FROM api_keys WHERE prefix = ?", (prefix,)
            ).fetchall()
        )
        return load(ApiKey, rows)[0] if rows else None

    async def find_agent_by_number(self, phone_number: str) -> Agent | None:
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT a.data FROM agent_numbers AS n JOIN agents AS a"
                " ON a.tenant_id = n.tenant_id AND a.id = n.agent_id WHERE n.number = ?",
                (phone_number,),
            ).fetchall()
        )
        return load(Agent, rows)[0] if rows else None

    async def list_live_sessions(self) -> list[CallSession]:
        """Active sessions of every tenant, oldest first."""
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT data FROM sessions WHERE status = 'active' ORDER BY started_at, rowid"
            ).fetchall()
        )
        return load(CallSession, rows)

    # console refresh tokens

    async def put_refresh_token(self, token: RefreshToken) -> RefreshToken:
        """Insert or update; NotFound if the user does not exist."""
        await self._db.write(
            "INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, expires_at,"
            " used_at, revoked_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET used_at = excluded.used_at,"
            " revoked_at = excluded.revoked_at, data = excluded.data",
            (
                token.id,
                token.tenant_id,
                token.user_id,
                token.family_id,
                micros(token.expires_at),
                None if token.used_at is None else micros(token.used_at),
                None if token.revoked_at is None else micros(token.revoked_at),
                token.model_dump_json(),
            ),
            missing=f"user {token.user_id} not found",
            duplicate=f"refresh token {token.id[:8]} already exists",
        )
        return token

    async def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT data FROM refresh_tokens WHERE id = ?", (token_id,)
            ).fetchall()
        )
        return load(RefreshToken, rows)[0] if rows else None

    async def use_refresh_token(self, token_id: str) -> bool:
        """Mark the token used; False if it was used (or revoked, or absent) already."""
        at = now()

        def work(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE refresh_tokens SET used_at = ?,"
                " data = json_set(data, '$.used_at', ?)"
                " WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
                (micros(at), at.isoformat().replace("+00:00", "Z"), token_id),
            )
            return changed.rowcount == 1

        return await self._db.run(work)

    async def revoke_refresh_family(self, family_id: str) -> int:
        at = now()

        def work(conn: sqlite3.Connection) -> int:
            changed = conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ?,"
                " data = json_set(data, '$.revoked_at', ?)"
                " WHERE family_id = ? AND revoked_at IS NULL",
                (micros(at), at.isoformat().replace("+00:00", "Z"), family_id),
            )
            return changed.rowcount

        return await self._db.run(work)

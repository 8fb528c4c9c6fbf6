"""The records of one tenant in the SQLite store. Every statement carries `tenant_id = ?`, and
child rows reference their parent by (tenant_id, id), so another tenant's id reads as absent."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from oratio_voice.models import (
    Agent,
    ApiKey,
    AuditEntry,
    CallSession,
    Notification,
    SessionStatus,
    Turn,
    User,
)
from oratio_voice.store.base import Conflict, NotFound, TenantMismatch
from oratio_voice.store.sqlite_db import Database, integrity_error, load, micros, transaction


class SQLiteTenantStore:
    """TenantStore over SQLite. Agents list oldest first; everything else newest first."""

    def __init__(self, db: Database, tenant_id: str) -> None:
        if not tenant_id:
            raise ValueError("tenant_id must not be empty")
        self._db = db
        self.tenant_id = tenant_id

    def __repr__(self) -> str:
        return f"SQLiteTenantStore({self.tenant_id!r})"

    # agents

    async def put_agent(self, agent: Agent) -> Agent:
        """Upsert the agent and claim its phone numbers (Conflict if another agent has one)."""
        self._own(agent)
        numbers = list(dict.fromkeys(agent.config.phone_numbers))

        def work(conn: sqlite3.Connection) -> Agent:
            with transaction(conn):
                try:
                    conn.execute(
                        "INSERT INTO agents (tenant_id, id, status, created_at, data)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET"
                        " status = excluded.status, created_at = excluded.created_at,"
                        " data = excluded.data",
                        (
                            self.tenant_id,
                            agent.id,
                            agent.status,
                            micros(agent.created_at),
                            agent.model_dump_json(),
                        ),
                    )
                except sqlite3.IntegrityError as exc:
                    raise self._missing_tenant(exc) from exc
                conn.execute(
                    "DELETE FROM agent_numbers WHERE tenant_id = ? AND agent_id = ?",
                    (self.tenant_id, agent.id),
                )
                for number in numbers:
                    try:
                        conn.execute(
                            "INSERT INTO agent_numbers (number, tenant_id, agent_id)"
                            " VALUES (?, ?, ?)",
                            (number, self.tenant_id, agent.id),
                        )
                    except sqlite3.IntegrityError as exc:
                        raise Conflict(
                            f"phone number {number} already belongs to another agent"
                        ) from exc
            return agent

        return await self._db.run(work)

    async def get_agent(self, agent_id: str) -> Agent:
        return await self._get(Agent, "agents", agent_id)

    async def list_agents(self, include_archived: bool = False) -> list[Agent]:
        where = "" if include_archived else " AND status != 'archived'"
        return await self._list(
            Agent,
            f"SELECT data FROM agents WHERE tenant_id = ?{where} ORDER BY created_at, rowid",
        )

    # sessions and turns

    async def put_session(self, session: CallSession) -> CallSession:
        """Upsert the session; NotFound if its agent is not one of this tenant's."""
        self._own(session)
        params = (
            self.tenant_id,
            session.id,
            session.agent_id,
            session.channel,
            session.status,
            micros(session.started_at),
            session.model_dump_json(),
        )
        await self._db.write(
            "INSERT INTO sessions (tenant_id, id, agent_id, channel, status, started_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET"
            " agent_id = excluded.agent_id, channel = excluded.channel,"
            " status = excluded.status, started_at = excluded.started_at, data = excluded.data",
            params,
            missing=f"agent {session.agent_id} not found",
            duplicate=f"session {session.id} already exists",
        )
        return session

    async def get_session(self, session_id: str) -> CallSession:
        return await self._get(CallSession, "sessions", session_id)

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
    ) -> list[CallSession]:
        """Newest first; `since` is inclusive and `until` exclusive on `started_at`;
        `handoff` keeps only (or leaves out) sessions handed to a person."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        clauses = ["tenant_id = ?"]  # bound by _list
        params: list[Any] = []
        for column, value in (("agent_id", agent_id), ("channel", channel), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("started_at >= ?")
            params.append(micros(since))
        if until is not None:
            clauses.append("started_at < ?")
            params.append(micros(until))
        if handoff is not None:
            clauses.append("status = 'handoff'" if handoff else "status != 'handoff'")
        params += [limit, offset]
        return await self._list(
            CallSession,
            f"SELECT data FROM sessions WHERE {' AND '.join(clauses)}"
            " ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?",
            *params,
        )

    async def add_turn(self, turn: Turn) -> Turn:
        """One committed insert. Adding a stored turn again (same id) replaces it, e.g. to mark
        it interrupted; NotFound for another tenant's session, Conflict for a used seq."""
        self._own(turn)
        await self._db.write(
            "INSERT INTO turns (tenant_id, id, session_id, seq, data) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (tenant_id, id) DO UPDATE SET"
            " session_id = excluded.session_id, seq = excluded.seq, data = excluded.data",
            (self.tenant_id, turn.id, turn.session_id, turn.seq, turn.model_dump_json()),
            missing=f"session {turn.session_id} not found",
            duplicate=f"turn {turn.seq} of session {turn.session_id} already exists",
        )
        return turn

    async def list_turns(self, session_id: str) -> list[Turn]:
        """The session's turns in `seq` order; NotFound if it is not this tenant's session."""

        def work(conn: sqlite3.Connection) -> list[Turn]:
            found = conn.execute(
                "SELECT 1 FROM sessions WHERE tenant_id = ? AND id = ?",
                (self.tenant_id, session_id),
            ).fetchone()
            if found is None:
                raise NotFound(f"session {session_id} not found")
            rows = conn.execute(
                "SELECT data FROM turns WHERE tenant_id = ? AND session_id = ? ORDER BY seq",
                (self.tenant_id, session_id),
            ).fetchall()
            return load(Turn, rows)

        return await self._db.run(work)

    # notifications

    async def put_notification(self, notification: Notification) -> Notification:
        self._own(notification)
        read_at = notification.read_at
        await self._db.write(
            "INSERT INTO notifications (tenant_id, id, created_at, read_at, data)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET"
            " created_at = excluded.created_at, read_at = excluded.read_at,"
            " data = excluded.data",
            (
                self.tenant_id,
                notification.id,
                micros(notification.created_at),
                None if read_at is None else micros(read_at),
                notification.model_dump_json(),
            ),
            missing=f"tenant {self.tenant_id} not found",
            duplicate=f"notification {notification.id} already exists",
        )
        return notification

    async def get_notification(self, notification_id: str) -> Notification:
        return await self._get(Notification, "notifications", notification_id)

    async def list_notifications(self, unread_only: bool = False) -> list[Notification]:
        where = " AND read_at IS NULL" if unread_only else ""
        return await self._list(
            Notification,
            f"SELECT data FROM notifications WHERE tenant_id = ?{where}"
            " ORDER BY created_at DESC, rowid DESC",
        )

    # api keys

    async def put_api_key(self, key: ApiKey) -> ApiKey:
        """Upsert; NotFound if the agent is not this tenant's, Conflict on a used prefix."""
        self._own(key)
        await self._db.write(
            "INSERT INTO api_keys (tenant_id, id, agent_id, prefix, created_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET"
            " agent_id = excluded.agent_id, prefix = excluded.prefix,"
            " created_at = excluded.created_at, data = excluded.data",
            (
                self.tenant_id,
                key.id,
                key.agent_id,
                key.prefix,
                micros(key.created_at),
                key.model_dump_json(),
            ),
            missing=f"agent {key.agent_id} not found",
            duplicate=f"API key prefix {key.prefix} is already in use",
        )
        return key

    async def get_api_key(self, key_id: str) -> ApiKey:
        return await self._get(ApiKey, "api_keys", key_id)

    async def record_api_key_use(self, key_id: str, at: datetime) -> ApiKey:
        """Count one use in a single read-modify-write, so a concurrent revoke is never lost."""

        def work(conn: sqlite3.Connection) -> ApiKey:
            with transaction(conn):
                row = conn.execute(
                    "SELECT data FROM api_keys WHERE tenant_id = ? AND id = ?",
                    (self.tenant_id, key_id),
                ).fetchone()
                if row is None:
                    raise NotFound(f"ApiKey {key_id} not found")
                key = ApiKey.model_validate_json(row[0])
                key = key.model_copy(
                    update={"usage_count": key.usage_count + 1, "last_used_at": at}
                )
                conn.execute(
                    "UPDATE api_keys SET data = ? WHERE tenant_id = ? AND id = ?",
                    (key.model_dump_json(), self.tenant_id, key_id),
                )
                return key

        return await self._db.run(work)

    async def list_api_keys(self) -> list[ApiKey]:
        return await self._list(
            ApiKey,
            "SELECT data FROM api_keys WHERE tenant_id = ? ORDER BY created_at DESC, rowid DESC",
        )

    # users and audit

    async def list_users(self) -> list[User]:
        return await self._list(
            User, "SELECT data FROM users WHERE tenant_id = ? ORDER BY created_at, rowid"
        )

    async def get_user(self, user_id: str) -> User:
        return await self._get(User, "users", user_id)

    async def add_audit(self, entry: AuditEntry) -> AuditEntry:
        self._own(entry)
        await self._db.write(
            "INSERT INTO audit (tenant_id, id, at, data) VALUES (?, ?, ?, ?)",
            (self.tenant_id, entry.id, micros(entry.at), entry.model_dump_json()),
            missing=f"tenant {self.tenant_id} not found",
            duplicate=f"audit entry {entry.id} already exists",
        )
        return entry

    async def list_audit(self, limit: int = 100) -> list[AuditEntry]:
        """The latest `limit` entries, newest first."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        return await self._list(
            AuditEntry,
            "SELECT data FROM audit WHERE tenant_id = ? ORDER BY at DESC, rowid DESC LIMIT ?",
            limit,
        )

    # helpers

    def _own(self, record: Agent | CallSession | Turn | Notification | ApiKey | AuditEntry) -> None:
        if record.tenant_id != self.tenant_id:
            raise TenantMismatch(
                f"{type(record).__name__} {record.id} belongs to tenant {record.tenant_id},"
                f" not {self.tenant_id}"
            )

    def _missing_tenant(self, exc: sqlite3.IntegrityError) -> Exception:
        return integrity_error(
            exc, missing=f"tenant {self.tenant_id} not found", duplicate=str(exc)
        )

    async def _get[M: BaseModel](self, model: type[M], table: str, record_id: str) -> M:
        def work(conn: sqlite3.Connection) -> M:
            row = conn.execute(
                f"SELECT data FROM {table} WHERE tenant_id = ? AND id = ?",
                (self.tenant_id, record_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"{model.__name__} {record_id} not found")
            return model.model_validate_json(row[0])

        return await self._db.run(work)

    async def _list[M: BaseModel](self, model: type[M], sql: str, *extra: Any) -> list[M]:
        params = (self.tenant_id, *extra)
        return await self._db.run(lambda conn: load(model, conn.execute(sql, params).fetchall()))

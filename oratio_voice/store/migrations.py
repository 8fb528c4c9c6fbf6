"""SQLite schema migrations: an ordered list of steps, the applied version in PRAGMA user_version.

Records are kept as pydantic JSON in a `data` column; the other columns exist only to be
queried (and indexed). Every tenant-owned table has the composite key (tenant_id, id), and
child rows reference their parent through (tenant_id, parent_id), so a row can only ever point
at a record of its own tenant. Times are integer microseconds since the Unix epoch (UTC).
Never edit a released step: append a new one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from oratio_voice.store.base import StoreError


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "tenants, users, agents, sessions, turns, notifications, api keys, audit log",
        (
            """CREATE TABLE tenants (
                id TEXT PRIMARY KEY,
                created_at INTEGER NOT NULL,
                data TEXT NOT NULL
            )""",
            """CREATE TABLE users (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                id TEXT NOT NULL,
                email_norm TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant_id, id)
            )""",
            """CREATE TABLE agents (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                id TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant_id, id)
            )""",
            """CREATE TABLE sessions (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                status TEXT NOT NULL,
                started_at INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, agent_id) REFERENCES agents(tenant_id, id)
            )""",
            "CREATE INDEX sessions_by_time ON sessions(tenant_id, started_at)",
            "CREATE INDEX sessions_by_agent ON sessions(tenant_id, agent_id, started_at)",
            "CREATE INDEX sessions_by_channel ON sessions(tenant_id, channel, started_at)",
            "CREATE INDEX sessions_by_status ON sessions(tenant_id, status, started_at)",
            "CREATE INDEX sessions_live ON sessions(status, started_at)",
            """CREATE TABLE turns (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                session_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, session_id, seq),
                FOREIGN KEY (tenant_id, session_id) REFERENCES sessions(tenant_id, id)
            )""",
            """CREATE TABLE notifications (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                read_at INTEGER,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant_id, id)
            )""",
            "CREATE INDEX notifications_by_time ON notifications(tenant_id, created_at)",
            """CREATE TABLE api_keys (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                prefix TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, agent_id) REFERENCES agents(tenant_id, id)
            )""",
            "CREATE INDEX api_keys_by_agent ON api_keys(tenant_id, agent_id)",
            """CREATE TABLE audit (
                tenant_id TEXT NOT NULL REFERENCES tenants(id),
                id TEXT NOT NULL,
                at INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant_id, id)
            )""",
            "CREATE INDEX audit_by_time ON audit(tenant_id, at)",
        ),
    ),
    Migration(
        2,
        "agent_numbers: one agent per phone number across all tenants, indexed for routing",
        (
            """CREATE TABLE agent_numbers (
                number TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                FOREIGN KEY (tenant_id, agent_id) REFERENCES agents(tenant_id, id)
                    ON DELETE CASCADE
            )""",
            "CREATE INDEX agent_numbers_by_agent ON agent_numbers(tenant_id, agent_id)",
            # Backfill from the agents stored before this table existed.
            """INSERT INTO agent_numbers (number, tenant_id, agent_id)
               SELECT DISTINCT n.value, a.tenant_id, a.id
               FROM agents AS a, json_each(a.data, '$.config.phone_numbers') AS n""",
        ),
    ),
    Migration(
        3,
        "refresh_tokens: console sign-in sessions, rotated on use, revoked by family",
        (
            """CREATE TABLE refresh_tokens (
                id TEXT PRIMARY KEY,
                tenant_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                family_id TEXT NOT NULL,
                expires_at INTEGER NOT NULL,
                used_at INTEGER,
                revoked_at INTEGER,
                data TEXT NOT NULL,
                FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
            )""",
            "CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family_id)",
            "CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens(expires_at)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST_VERSION) -> int:
    """Apply the pending steps up to `target` in one transaction; return the version reached.

    `conn` must be in autocommit mode (the transaction is opened here). The version is read
    under the write lock, so two processes opening the same file never both migrate.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"no schema version {target} (latest is {LATEST_VERSION})")
    conn.execute("BEGIN IMMEDIATE")
    version = schema_version(conn)
    try:
        if version > LATEST_VERSION:
            raise StoreError(
                f"database schema version {version} is newer than this code supports "
                f"({LATEST_VERSION}); upgrade oratio-voice"
            )
        for step in MIGRATIONS:
            if version < step.version <= target:
                for statement in step.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step.version:d}")
                version = step.version
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise StoreError(f"schema migration past version {version} failed: {exc}") from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version

"""One SQLite connection owned by one worker thread, awaited from asyncio; row helpers.

sqlite3 blocks, so every statement runs on a single dedicated thread (which also serializes
writers inside this process); the event loop only awaits the result. Other processes on the
same file are handled by WAL mode and the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from oratio_voice.store.base import Conflict, NotFound, StoreError
from oratio_voice.store.migrations import migrate

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """A datetime as integer microseconds since the epoch; naive datetimes are taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH) // _MICROSECOND


def load[M: BaseModel](model: type[M], rows: list[sqlite3.Row] | list[tuple[str]]) -> list[M]:
    return [model.model_validate_json(row[0]) for row in rows]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (conn is in autocommit mode)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def integrity_error(exc: sqlite3.IntegrityError, *, missing: str, duplicate: str) -> StoreError:
    """Translate a constraint failure: a dangling reference is NotFound, a duplicate Conflict."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return NotFound(missing)
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return Conflict(duplicate)
    return StoreError(f"constraint failed: {exc}")


class Database:
    """The connection and the thread it lives on."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int, synchronous: Synchronous) -> None:
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"unknown SQLite synchronous mode {synchronous!r}")
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._synchronous = synchronous
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oratio-sqlite")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(executor, self._connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, self._disconnect)
        finally:
            executor.shutdown(wait=False)

    async def run[T](self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(conn)` on the database thread and await its result."""
        executor = self._executor
        if executor is None:
            raise StoreError("the SQLite store is not open (call `await store.open()` first)")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, self._call, work)

    async def write(
        self, sql: str, params: tuple[Any, ...], *, missing: str, duplicate: str
    ) -> None:
        """One statement; a broken reference raises NotFound(missing), a taken unique key
        Conflict(duplicate)."""

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(sql, params)
            except sqlite3.IntegrityError as exc:
                raise integrity_error(exc, missing=missing, duplicate=duplicate) from exc

        await self.run(work)

    def _call[T](self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StoreError("the SQLite store is closed")
        try:
            return work(conn)
        except StoreError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000, autocommit=True)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms):d}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal" and str(self.path) != ":memory:":
                raise StoreError(f"SQLite database {self.path} cannot use WAL mode ({mode})")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot prepare SQLite database {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

"""SQLiteStore against real database files: records, tenant isolation, conflicts, filters,
concurrency, durability and schema migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from oratio_voice.models import (
    Agent,
    AgentConfig,
    ApiKey,
    AuditEntry,
    CallSession,
    Channel,
    Notification,
    SessionStatus,
    Tenant,
    Turn,
    User,
)
from oratio_voice.store.base import Conflict, NotFound, StoreError, TenantMismatch
from oratio_voice.store.migrations import LATEST_VERSION, migrate, schema_version
from oratio_voice.store.sqlite import SQLiteStore, SQLiteTenantStore

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "oratio.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db_path) as opened:
        yield opened


async def new_tenant(store: SQLiteStore, name: str) -> tuple[SQLiteTenantStore, Agent]:
    tenant = await store.put_tenant(Tenant(name=name))
    ts = store.tenant(tenant.id)
    agent = await ts.put_agent(Agent(tenant_id=tenant.id, name=f"{name} support"))
    return ts, agent


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, autocommit=True)


async def test_open_creates_wal_file_at_latest_version(store: SQLiteStore, db_path: Path) -> None:
    await store.check()
    conn = raw(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(conn) == LATEST_VERSION
    conn.close()


async def test_db_work_runs_on_one_worker_thread(store: SQLiteStore) -> None:
    idents = await asyncio.gather(
        *(store._db.run(lambda _c: threading.get_ident()) for _ in range(5))
    )
    assert len(set(idents)) == 1
    assert idents[0] != threading.get_ident()


async def test_not_open_and_closed_raise_store_error(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    with pytest.raises(StoreError, match="not open"):
        await s.check()
    await s.open()
    await s.open()  # idempotent
    await s.check()
    await s.close()
    await s.close()  # idempotent
    with pytest.raises(StoreError):
        await s.get_tenant("ten_x")


async def test_records_round_trip_and_upsert(store: SQLiteStore) -> None:
    ts, agent = await new_tenant(store, "Acme")
    tenant = await store.get_tenant(ts.tenant_id)
    assert tenant.name == "Acme"
    await store.put_tenant(tenant.model_copy(update={"name": "Acme Ltd"}))
    assert (await store.get_tenant(ts.tenant_id)).name == "Acme Ltd"
    assert await ts.get_agent(agent.id) == agent
    changed = agent.model_copy(update={"description": "refunds", "version": 2})
    await ts.put_agent(changed)
    assert await ts.get_agent(agent.id) == changed
    assert await ts.list_agents() == [changed]

    archived = await ts.put_agent(Agent(tenant_id=ts.tenant_id, name="old", status="archived"))
    assert [a.id for a in await ts.list_agents()] == [agent.id]
    assert [a.id for a in await ts.list_agents(include_archived=True)] == [agent.id, archived.id]

    session = await ts.put_session(
        CallSession(tenant_id=ts.tenant_id, agent_id=agent.id, channel="twilio", metadata={"x": 1})
    )
    ended = session.model_copy(update={"status": "ended", "ended_at": T0, "summary": "done"})
    await ts.put_session(ended)
    assert await ts.get_session(session.id) == ended

    with pytest.raises(NotFound):
        await store.get_tenant("ten_missing")


async def test_writes_need_an_existing_tenant_and_agent(store: SQLiteStore) -> None:
    ghost = store.tenant("ten_ghost")
    with pytest.raises(NotFound, match="tenant"):
        await ghost.put_agent(Agent(tenant_id="ten_ghost", name="x"))
    with pytest.raises(NotFound, match="tenant"):
        await store.put_user(User(tenant_id="ten_ghost", email="a@b.c", password_hash="h"))
    ts, _ = await new_tenant(store, "Acme")
    with pytest.raises(NotFound, match="agent"):
        await ts.put_session(CallSession(tenant_id=ts.tenant_id, agent_id="agt_no", channel="chat"))
    with pytest.raises(NotFound, match="session"):
        await ts.add_turn(
            Turn(tenant_id=ts.tenant_id, session_id="ses_no", seq=1, role="caller", text="hi")
        )


async def test_tenant_b_cannot_reach_tenant_a(store: SQLiteStore) -> None:
    a, agent = await new_tenant(store, "A")
    b, b_agent = await new_tenant(store, "B")
    session = await a.put_session(
        CallSession(tenant_id=a.tenant_id, agent_id=agent.id, channel="browser")
    )
    await a.add_turn(
        Turn(tenant_id=a.tenant_id, session_id=session.id, seq=1, role="caller", text="hi")
    )
    note = await a.put_notification(Notification(tenant_id=a.tenant_id, title="handoff"))
    key = await a.put_api_key(
        ApiKey(tenant_id=a.tenant_id, agent_id=agent.id, prefix="pk_a", secret_hash="h")
    )
    await a.add_audit(AuditEntry(tenant_id=a.tenant_id, actor="usr_a", action="agent.create"))
    await store.put_user(User(tenant_id=a.tenant_id, email="a@a.test", password_hash="h"))

    # reads: another tenant's id is absent
    for get, record_id in (
        (b.get_agent, agent.id),
        (b.get_session, session.id),
        (b.list_turns, session.id),
        (b.get_notification, note.id),
        (b.get_api_key, key.id),
    ):
        with pytest.raises(NotFound):
            await get(record_id)
    assert [x.id for x in await b.list_agents(include_archived=True)] == [b_agent.id]
    assert await b.list_sessions() == []
    assert await b.list_sessions(agent_id=agent.id) == []
    assert await b.list_notifications() == []
    assert await b.list_api_keys() == []
    assert await b.list_audit() == []
    assert await b.list_users() == []

    # writes: records of A cannot be written through B, nor can B point at A's records
    puts: tuple[tuple[Callable[[Any], Awaitable[object]], object], ...] = (
        (b.put_agent, agent),
        (b.put_session, session),
        (b.put_notification, note),
        (b.put_api_key, key),
        (b.add_audit, AuditEntry(tenant_id=a.tenant_id, actor="x", action="y")),
        (
            b.add_turn,
            Turn(tenant_id=a.tenant_id, session_id=session.id, seq=2, role="agent", text=""),
        ),
    )
    for put, record in puts:
        with pytest.raises(TenantMismatch):
            await put(record)
    with pytest.raises(NotFound):
        await b.put_session(CallSession(tenant_id=b.tenant_id, agent_id=agent.id, channel="chat"))
    with pytest.raises(NotFound):
        await b.add_turn(
            Turn(tenant_id=b.tenant_id, session_id=session.id, seq=2, role="caller", text="x")
        )
    with pytest.raises(NotFound):
        await b.put_api_key(
            ApiKey(tenant_id=b.tenant_id, agent_id=agent.id, prefix="pk_b", secret_hash="h")
        )

    # B reusing A's ids gets records of its own; A's stay untouched
    await b.put_agent(agent.model_copy(update={"tenant_id": b.tenant_id, "name": "B's copy"}))
    await b.put_notification(note.model_copy(update={"tenant_id": b.tenant_id, "title": "B"}))
    assert (await a.get_agent(agent.id)).name == "A support"
    assert (await a.get_notification(note.id)).title == "handoff"
    assert len(await a.list_turns(session.id)) == 1


async def test_email_is_unique_across_tenants(store: SQLiteStore) -> None:
    a, _ = await new_tenant(store, "A")
    b, _ = await new_tenant(store, "B")
    user = await store.put_user(
        User(tenant_id=a.tenant_id, email="Ann@Example.com", password_hash="h")
    )
    await store.put_user(user.model_copy(update={"role": "member"}))  # upsert of the same user
    with pytest.raises(Conflict, match="e-mail"):
        await store.put_user(
            User(tenant_id=b.tenant_id, email="ann@example.com ", password_hash="x")
        )
    with pytest.raises(Conflict):
        await store.put_user(
            User(tenant_id=a.tenant_id, email="ANN@example.com", password_hash="x")
        )
    found = await store.find_user_by_email("ann@EXAMPLE.com")
    assert found is not None and found.id == user.id and found.role == "member"
    assert await store.find_user_by_email("bob@example.com") is None
    assert [u.id for u in await a.list_users()] == [user.id]


async def test_phone_number_belongs_to_one_agent(store: SQLiteStore) -> None:
    a, agent = await new_tenant(store, "A")
    b, b_agent = await new_tenant(store, "B")
    numbered = agent.model_copy(
        update={"config": AgentConfig(phone_numbers=["+15550001", "+15550002"])}
    )
    await a.put_agent(numbered)
    await a.put_agent(numbered)  # re-saving keeps its own numbers
    found = await store.find_agent_by_number("+15550002")
    assert found is not None and found.id == agent.id and found.tenant_id == a.tenant_id

    taken = b_agent.model_copy(
        update={"config": AgentConfig(phone_numbers=["+15550009", "+15550001"])}
    )
    with pytest.raises(Conflict, match=r"\+15550001"):
        await b.put_agent(taken)
    assert await store.find_agent_by_number("+15550009") is None  # the failed put left nothing
    assert (await b.get_agent(b_agent.id)).config.phone_numbers == []
    second = Agent(tenant_id=a.tenant_id, name="x", config=AgentConfig(phone_numbers=["+15550001"]))
    with pytest.raises(Conflict):
        await a.put_agent(second)

    # releasing a number lets another agent take it
    await a.put_agent(
        numbered.model_copy(update={"config": AgentConfig(phone_numbers=["+15550002"])})
    )
    await b.put_agent(taken)
    found = await store.find_agent_by_number("+15550001")
    assert found is not None and found.id == b_agent.id
    assert await store.find_agent_by_number("+19999999") is None


async def test_api_key_prefix_is_unique_and_found(store: SQLiteStore) -> None:
    a, agent = await new_tenant(store, "A")
    b, b_agent = await new_tenant(store, "B")
    key = await a.put_api_key(
        ApiKey(tenant_id=a.tenant_id, agent_id=agent.id, prefix="pk_1", secret_hash="h")
    )
    with pytest.raises(Conflict, match="pk_1"):
        await b.put_api_key(
            ApiKey(tenant_id=b.tenant_id, agent_id=b_agent.id, prefix="pk_1", secret_hash="x")
        )
    revoked = key.model_copy(update={"revoked_at": T0, "usage_count": 3})
    await a.put_api_key(revoked)
    assert await store.find_api_key_by_prefix("pk_1") == revoked
    assert await a.get_api_key(key.id) == revoked
    assert await store.find_api_key_by_prefix("pk_2") is None


async def test_session_filters_newest_first_and_paging(store: SQLiteStore) -> None:
    ts, agent = await new_tenant(store, "A")
    other = await ts.put_agent(Agent(tenant_id=ts.tenant_id, name="sales"))
    channels: tuple[Channel, ...] = ("browser", "twilio", "connect")
    statuses: tuple[SessionStatus, ...] = ("active", "ended", "handoff", "failed")
    made = []
    for i in range(12):
        made.append(
            await ts.put_session(
                CallSession(
                    tenant_id=ts.tenant_id,
                    agent_id=(agent.id, other.id)[i % 2],
                    channel=channels[i % 3],
                    status=statuses[i % 4],
                    started_at=T0 + timedelta(minutes=i),
                )
            )
        )
    newest_first = [s.id for s in reversed(made)]
    assert [s.id for s in await ts.list_sessions(limit=100)] == newest_first
    pages = [await ts.list_sessions(limit=5, offset=o) for o in (0, 5, 10, 15)]
    assert [len(p) for p in pages] == [5, 5, 2, 0]
    assert [s.id for p in pages for s in p] == newest_first
    assert await ts.list_sessions(limit=0) == []

    assert {s.id for s in await ts.list_sessions(agent_id=other.id)} == {m.id for m in made[1::2]}
    assert {s.id for s in await ts.list_sessions(channel="twilio")} == {m.id for m in made[1::3]}
    assert {s.id for s in await ts.list_sessions(status="handoff")} == {m.id for m in made[2::4]}
    window = await ts.list_sessions(
        since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=7)
    )
    assert [s.id for s in window] == [m.id for m in reversed(made[3:7])]
    naive = await ts.list_sessions(since=datetime(2025, 3, 1, 9, 10))  # naive means UTC
    assert [s.id for s in naive] == [m.id for m in reversed(made[10:])]
    both = await ts.list_sessions(agent_id=agent.id, channel="browser", status="active")
    assert [s.id for s in both] == [made[0].id]  # i=0 only (i=6 is "handoff")
    with pytest.raises(ValueError):
        await ts.list_sessions(offset=-1)


async def test_live_sessions_of_every_tenant(store: SQLiteStore) -> None:
    a, agent = await new_tenant(store, "A")
    b, b_agent = await new_tenant(store, "B")
    live_a = await a.put_session(
        CallSession(tenant_id=a.tenant_id, agent_id=agent.id, channel="chat", started_at=T0)
    )
    await a.put_session(
        CallSession(tenant_id=a.tenant_id, agent_id=agent.id, channel="chat", status="ended")
    )
    live_b = await b.put_session(
        CallSession(
            tenant_id=b.tenant_id,
            agent_id=b_agent.id,
            channel="twilio",
            started_at=T0 + timedelta(seconds=1),
        )
    )
    assert [s.id for s in await store.list_live_sessions()] == [live_a.id, live_b.id]


async def test_turns_in_seq_order_and_unique_seq(store: SQLiteStore) -> None:
    ts, agent = await new_tenant(store, "A")
    session = await ts.put_session(
        CallSession(tenant_id=ts.tenant_id, agent_id=agent.id, channel="chat")
    )
    for seq in (3, 1, 2):
        await ts.add_turn(
            Turn(
                tenant_id=ts.tenant_id,
                session_id=session.id,
                seq=seq,
                role="caller",
                text=f"t{seq}",
            )
        )
    assert [t.text for t in await ts.list_turns(session.id)] == ["t1", "t2", "t3"]
    first = (await ts.list_turns(session.id))[0]
    await ts.add_turn(first.model_copy(update={"interrupted": True}))  # same id: replaced
    turns = await ts.list_turns(session.id)
    assert len(turns) == 3 and turns[0].interrupted and turns[0].id == first.id
    with pytest.raises(Conflict):
        await ts.add_turn(
            Turn(tenant_id=ts.tenant_id, session_id=session.id, seq=2, role="agent", text="again")
        )
    with pytest.raises(NotFound):
        await ts.list_turns("ses_missing")


async def test_notifications_unread_and_audit_newest_first(store: SQLiteStore) -> None:
    ts, _ = await new_tenant(store, "A")
    notes = [
        await ts.put_notification(
            Notification(
                tenant_id=ts.tenant_id, title=f"n{i}", created_at=T0 + timedelta(seconds=i)
            )
        )
        for i in range(3)
    ]
    await ts.put_notification(notes[1].model_copy(update={"read_at": T0}))
    assert [n.title for n in await ts.list_notifications()] == ["n2", "n1", "n0"]
    assert [n.title for n in await ts.list_notifications(unread_only=True)] == ["n2", "n0"]
    assert (await ts.get_notification(notes[1].id)).read_at == T0

    for i in range(5):
        await ts.add_audit(
            AuditEntry(
                tenant_id=ts.tenant_id, actor="usr", action=f"a{i}", at=T0 + timedelta(seconds=i)
            )
        )
    assert [e.action for e in await ts.list_audit(limit=3)] == ["a4", "a3", "a2"]
    assert len(await ts.list_audit()) == 5


async def test_concurrent_turns_from_many_tasks_all_persist(db_path: Path) -> None:
    async with SQLiteStore(db_path) as store:
        ts, agent = await new_tenant(store, "A")
        sessions = await asyncio.gather(
            *(
                ts.put_session(
                    CallSession(tenant_id=ts.tenant_id, agent_id=agent.id, channel="twilio")
                )
                for _ in range(20)
            )
        )

        async def talk(session: CallSession) -> None:
            for seq in range(1, 11):
                role: Literal["caller", "agent"] = "caller" if seq % 2 else "agent"
                await ts.add_turn(
                    Turn(
                        tenant_id=ts.tenant_id,
                        session_id=session.id,
                        seq=seq,
                        role=role,
                        text=f"{seq}",
                    )
                )
                await asyncio.sleep(0)

        await asyncio.gather(*(talk(s) for s in sessions))
        tenant_id = ts.tenant_id

    async with SQLiteStore(db_path) as reopened:
        again = reopened.tenant(tenant_id)
        assert len(await again.list_sessions(limit=100)) == 20
        for session in sessions:
            assert [t.seq for t in await again.list_turns(session.id)] == list(range(1, 11))


async def test_two_stores_on_one_file_share_it(db_path: Path) -> None:
    """Like two processes on one file: WAL plus the busy timeout let both write."""
    async with SQLiteStore(db_path) as one, SQLiteStore(db_path) as two:
        ts, agent = await new_tenant(one, "A")
        session = await ts.put_session(
            CallSession(tenant_id=ts.tenant_id, agent_id=agent.id, channel="chat")
        )
        other = two.tenant(ts.tenant_id)
        await asyncio.gather(
            *(
                (ts if seq % 2 else other).add_turn(
                    Turn(
                        tenant_id=ts.tenant_id,
                        session_id=session.id,
                        seq=seq,
                        role="caller",
                        text="x",
                    )
                )
                for seq in range(1, 41)
            )
        )
        assert len(await other.list_turns(session.id)) == 40


CRASHING_CALL = """
import asyncio, os, sys
from oratio_voice.models import Agent, CallSession, Tenant, Turn
from oratio_voice.store.sqlite import SQLiteStore

async def main() -> None:
    store = SQLiteStore(sys.argv[1])
    await store.open()
    await store.put_tenant(Tenant(id="ten_crash", name="c"))
    ts = store.tenant("ten_crash")
    await ts.put_agent(Agent(id="agt_c", tenant_id="ten_crash", name="c"))
    await ts.put_session(
        CallSession(id="ses_c", tenant_id="ten_crash", agent_id="agt_c", channel="twilio")
    )
    for seq in range(1, 6):
        turn = Turn(tenant_id="ten_crash", session_id="ses_c", seq=seq, role="caller", text="x")
        await ts.add_turn(turn)
    os._exit(3)  # die mid-call: no close, no checkpoint

asyncio.run(main())
"""


async def test_finished_turns_survive_a_crash_mid_call(db_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CRASHING_CALL, str(db_path))
    assert await proc.wait() == 3
    async with SQLiteStore(db_path) as store:
        turns = await store.tenant("ten_crash").list_turns("ses_c")
        assert [t.seq for t in turns] == [1, 2, 3, 4, 5]
        assert [s.id for s in await store.list_live_sessions()] == ["ses_c"]


def make_v1_database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = raw(path)
    assert migrate(conn, target=1) == 1
    tenant = Tenant(id="ten_old", name="Old Co")
    agents = [
        Agent(
            id="agt_1",
            tenant_id="ten_old",
            name="one",
            config=AgentConfig(phone_numbers=["+15551"]),
        ),
        Agent(
            id="agt_2",
            tenant_id="ten_old",
            name="two",
            config=AgentConfig(phone_numbers=["+15552", "+15553"]),
        ),
    ]
    conn.execute("INSERT INTO tenants VALUES (?, 0, ?)", (tenant.id, tenant.model_dump_json()))
    for agent in agents:
        conn.execute(
            "INSERT INTO agents VALUES (?, ?, 'active', 0, ?)",
            (agent.tenant_id, agent.id, agent.model_dump_json()),
        )
    conn.close()


async def test_migrates_an_existing_version_1_file(db_path: Path) -> None:
    make_v1_database(db_path)
    async with SQLiteStore(db_path) as store:
        assert (await store.get_tenant("ten_old")).name == "Old Co"
        assert [a.id for a in await store.tenant("ten_old").list_agents()] == ["agt_1", "agt_2"]
        for number, agent_id in (("+15551", "agt_1"), ("+15552", "agt_2"), ("+15553", "agt_2")):
            found = await store.find_agent_by_number(number)
            assert found is not None and found.id == agent_id
    conn = raw(db_path)
    assert schema_version(conn) == LATEST_VERSION == 3
    conn.close()


async def test_failed_migration_rolls_back_whole(db_path: Path) -> None:
    make_v1_database(db_path)
    conn = raw(db_path)
    clash = Agent(
        id="agt_3", tenant_id="ten_old", name="three", config=AgentConfig(phone_numbers=["+15551"])
    )
    conn.execute(
        "INSERT INTO agents VALUES ('ten_old', 'agt_3', 'active', 0, ?)", (clash.model_dump_json(),)
    )
    conn.close()
    with pytest.raises(StoreError, match="migration"):
        await SQLiteStore(db_path).open()
    conn = raw(db_path)
    assert schema_version(conn) == 1
    assert (
        conn.execute("SELECT name FROM sqlite_master WHERE name = 'agent_numbers'").fetchall() == []
    )
    assert conn.execute("SELECT count(*) FROM agents").fetchone()[0] == 3
    conn.close()


def make_future_database(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = raw(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()


async def test_refuses_a_newer_schema(db_path: Path) -> None:
    make_future_database(db_path)
    with pytest.raises(StoreError, match="newer"):
        await SQLiteStore(db_path).open()

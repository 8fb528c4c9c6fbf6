"""Agent configuration changes, analytics figures, and the store queries the console added
(refresh tokens, users by id, the handoff filter, schema step 3 on an existing file)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from console.agent_config import AgentConfigPatch
from console.analytics import compute, reason_label
from oratio_voice.models import Agent, AgentConfig, CallSession, Tenant, User
from oratio_voice.store.base import NotFound, RefreshToken
from oratio_voice.store.migrations import migrate, schema_version
from oratio_voice.store.sqlite import SQLiteStore

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_a_patch_changes_only_what_it_names() -> None:
    base = AgentConfig(phone_numbers=["+14155550100"])
    patch = AgentConfigPatch.model_validate(
        {
            "voice": " Amy ",
            "handoff": {"queue": "billing", "dtmf": {"9": "transfer"}},
            "business_hours": {"days": {"4": "08:00-12:00"}},
            "greeting": None,
        }
    )
    changed = patch.apply(base)
    assert changed.voice == "amy" and changed.greeting == base.greeting
    assert changed.phone_numbers == ["+14155550100"]
    assert changed.handoff.queue == "billing" and changed.handoff.dtmf == {"9": "transfer"}
    assert changed.handoff.phrases == base.handoff.phrases
    assert changed.business_hours.days == {4: "08:00-12:00"}
    assert changed.business_hours.timezone == "UTC"
    assert AgentConfigPatch().apply(base) == base


@pytest.mark.parametrize(
    "change",
    [
        {"phone_numbers": ["+0123456789"]},
        {"phone_numbers": ["+1 415 555 0100"]},
        {"phone_numbers": ["+12"]},
        {"voice": "siri"},
        {"language": "en"},
        {"greeting": "x" * 501},
        {"business_hours": {"days": {"0": "24:00-25:00"}}},
        {"business_hours": {"days": {"-1": "09:00-10:00"}}},
        {"business_hours": {"timezone": "../../etc/passwd"}},
        {"handoff": {"max_repeats": 0}},
        {"handoff": {"negative_sentiment_threshold": float("nan")}},
        {"handoff": {"queue": "bad/queue"}},
        {"handoff": {"phrases": [""]}},
        {"handoff": {"target": "+1"}},
        {"record_calls": "maybe"},
    ],
)
def test_bad_values_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AgentConfigPatch.model_validate(change)


def test_targets_may_be_numbers_or_sip_uris() -> None:
    for target in ("", "+442071838750", "sip:queue@pbx.example", "sips:desk@10.0.0.1:5061"):
        assert AgentConfigPatch.model_validate({"handoff": {"target": target}})


def session(n: int, *, channel: str = "browser", minutes: float | None = 2.0, **kw: Any) -> Any:
    started = T0 + timedelta(hours=n)
    return CallSession(
        tenant_id="ten_a",
        agent_id="agt_a",
        channel=channel,
        started_at=started,
        ended_at=None if minutes is None else started + timedelta(minutes=minutes),
        status="active" if minutes is None else kw.pop("status", "ended"),
        **kw,
    )


def test_analytics_figures() -> None:
    sessions = [
        session(0),
        session(1, channel="twilio", minutes=4),
        session(2, status="handoff", handoff_reason="caller is upset"),
        session(26, status="handoff", handoff_reason="AI fault: agent runtime failed (timeout)"),
        session(27, status="handoff", handoff_reason="AI fault: agent runtime failed (500)"),
        session(28, minutes=None),
    ]
    figures = compute(sessions, days=3, since=T0)
    assert [(d.total, d.handoff) for d in figures.calls_per_day] == [(3, 1), (3, 2), (0, 0)]
    assert figures.finished_sessions == 5 and figures.handoff_rate == 0.6
    assert figures.containment_rate == 0.4
    assert figures.average_duration_seconds == 144.0
    assert [(r.reason, r.count) for r in figures.top_handoff_reasons] == [
        ("AI fault: agent runtime failed", 2),
        ("caller is upset", 1),
    ]
    browser, twilio = figures.by_channel
    assert (browser.channel, browser.total, browser.handoff) == ("browser", 5, 3)
    assert twilio.average_duration_seconds == 240.0
    empty = compute([], days=1, since=T0)
    assert empty.handoff_rate is None and empty.average_duration_seconds is None
    assert reason_label("") == "unspecified"


# store additions ------------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(tmp_path / "data" / "oratio.db") as opened:
        yield opened


async def test_refresh_token_records(store: SQLiteStore) -> None:
    tenant = await store.put_tenant(Tenant(name="A"))
    user = await store.put_user(User(tenant_id=tenant.id, email="a@a.example", password_hash="x"))
    assert await store.tenant(tenant.id).get_user(user.id) == user
    with pytest.raises(NotFound):
        await store.tenant("ten_other").get_user(user.id)
    later = T0 + timedelta(days=1)
    one = RefreshToken(
        id="h1", tenant_id=tenant.id, user_id=user.id, family_id="f", expires_at=later
    )
    two = one.model_copy(update={"id": "h2"})
    for token in (one, two):
        await store.put_refresh_token(token)
    assert await store.use_refresh_token("h1") is True
    assert await store.use_refresh_token("h1") is False
    used = await store.get_refresh_token("h1")
    assert used is not None and used.used_at is not None
    assert await store.revoke_refresh_family("f") == 2
    assert await store.revoke_refresh_family("f") == 0
    revoked = await store.get_refresh_token("h2")
    assert revoked is not None and revoked.revoked_at is not None
    assert await store.use_refresh_token("h2") is False
    assert await store.get_refresh_token("nope") is None
    with pytest.raises(NotFound):
        await store.put_refresh_token(one.model_copy(update={"id": "h3", "user_id": "usr_x"}))


async def test_handoff_filter(store: SQLiteStore) -> None:
    tenant = await store.put_tenant(Tenant(name="A"))
    ts = store.tenant(tenant.id)
    await ts.put_agent(Agent(id="agt_a", tenant_id=tenant.id, name="A"))
    for n, status in enumerate(("ended", "handoff", "active", "handoff")):
        await ts.put_session(
            CallSession(
                id=f"ses_{n}",
                tenant_id=tenant.id,
                agent_id="agt_a",
                channel="browser",
                status=status,
                started_at=T0 + timedelta(minutes=n),
            )
        )
    assert [s.id for s in await ts.list_sessions(handoff=True)] == ["ses_3", "ses_1"]
    assert [s.id for s in await ts.list_sessions(handoff=False)] == ["ses_2", "ses_0"]
    assert await ts.list_sessions(handoff=True, status="ended") == []


def test_step_3_migrates_a_version_2_file(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, autocommit=True)
    conn.execute("PRAGMA foreign_keys = ON")
    assert migrate(conn, target=2) == 2
    conn.execute("INSERT INTO tenants VALUES ('ten_a', 0, '{}')")
    assert migrate(conn) == 3 and schema_version(conn) == 3
    columns = {row[1] for row in conn.execute("PRAGMA table_info(refresh_tokens)")}
    assert {"id", "family_id", "used_at", "revoked_at", "expires_at"} <= columns
    assert conn.execute("SELECT count(*) FROM tenants").fetchone()[0] == 1
    conn.close()

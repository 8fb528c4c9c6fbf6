"""Publishable API keys: hashed at rest, counted atomically, revocation never lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from oratio_voice.keys import InvalidKey, KeyChecker, issue_key
from oratio_voice.models import Agent, Tenant, now
from oratio_voice.store.sqlite import SQLiteStore


@pytest.fixture
async def store(tmp_path: Path) -> SQLiteStore:
    db = SQLiteStore(tmp_path / "keys.db")
    await db.open()
    await db.put_tenant(Tenant(id="ten_a", name="A"))
    await db.tenant("ten_a").put_agent(Agent(id="agt_a", tenant_id="ten_a", name="A"))
    return db


async def test_only_the_hash_is_stored_and_uses_are_counted(store: SQLiteStore) -> None:
    record, raw = issue_key("ten_a", "agt_a")
    assert raw.startswith(record.prefix + ".") and raw not in record.model_dump_json()
    await store.tenant("ten_a").put_api_key(record)
    checker = KeyChecker(store)
    for _ in range(3):
        await checker.authenticate(raw, "agt_a", None)
    stored = await store.tenant("ten_a").get_api_key(record.id)
    assert stored.usage_count == 3 and stored.last_used_at is not None
    await store.close()


async def test_a_revoke_racing_a_use_is_kept(store: SQLiteStore) -> None:
    record, _ = issue_key("ten_a", "agt_a")
    tenant = store.tenant("ten_a")
    await tenant.put_api_key(record)
    await tenant.put_api_key(record.model_copy(update={"revoked_at": now()}))
    counted = await tenant.record_api_key_use(record.id, now())  # the use read the old record
    assert counted.revoked_at is not None and counted.usage_count == 1
    assert (await tenant.get_api_key(record.id)).revoked_at is not None
    await store.close()


@pytest.mark.parametrize("raw", ["", "nope", "ov_pk_x", "sk_live.abc", "ov_pk_1234." + "x" * 300])
async def test_malformed_keys(store: SQLiteStore, raw: str) -> None:
    with pytest.raises(InvalidKey):
        await KeyChecker(store).authenticate(raw, "agt_a", None)
    await store.close()

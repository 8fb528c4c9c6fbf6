"""LocalBlobStore on a real folder: round trips, listing, key confinement, atomic writes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from oratio_voice.store.base import Conflict, NotFound
from oratio_voice.store.blobs import LocalBlobStore

DOC = "ten_a/agents/agt_1/docs/refunds.md"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def blobs(root: Path) -> LocalBlobStore:
    return LocalBlobStore(root)


async def test_put_get_overwrite_delete(blobs: LocalBlobStore, root: Path) -> None:
    await blobs.put(DOC, b"# Refunds\n")
    assert await blobs.get(DOC) == b"# Refunds\n"
    assert (root / DOC).read_bytes() == b"# Refunds\n"
    await blobs.put(DOC, b"v2")
    assert await blobs.get(DOC) == b"v2"
    await blobs.put("ten_a/empty", b"")
    assert await blobs.get("ten_a/empty") == b""
    await blobs.delete(DOC)
    with pytest.raises(NotFound):
        await blobs.get(DOC)
    await blobs.delete(DOC)  # deleting a missing key is fine


async def test_missing_and_folder_keys_are_not_found(blobs: LocalBlobStore) -> None:
    with pytest.raises(NotFound):
        await blobs.get("ten_a/nothing.md")
    await blobs.put(DOC, b"x")
    with pytest.raises(NotFound):
        await blobs.get("ten_a/agents")  # a folder, not a blob
    with pytest.raises(NotFound):
        await blobs.get(f"{DOC}/below")  # below a blob


async def test_key_that_collides_with_blob_or_folder_conflicts(blobs: LocalBlobStore) -> None:
    await blobs.put("ten_a/x", b"1")
    with pytest.raises(Conflict):
        await blobs.put("ten_a/x/y", b"2")
    with pytest.raises(Conflict):
        await blobs.put("ten_a", b"3")
    assert await blobs.list("") == ["ten_a/x"]


async def test_list_by_prefix_is_sorted(blobs: LocalBlobStore) -> None:
    keys = [
        "ten_a/agents/agt_1/docs/b.md",
        "ten_a/agents/agt_1/docs/a.md",
        "ten_a/agents/agt_1/package/v1.zip",
        "ten_a/agents/agt_10/docs/c.md",
        "ten_b/agents/agt_2/docs/a.md",
    ]
    for key in keys:
        await blobs.put(key, key.encode())
    assert await blobs.list("ten_a/agents/agt_1/docs/") == keys[1::-1]
    assert await blobs.list("ten_a/agents/agt_1/") == sorted(keys[:3])
    assert await blobs.list("ten_a/agents/agt_1") == sorted(keys[:4])  # plain string prefix
    assert await blobs.list("ten_a/agents/agt_1/docs/a") == ["ten_a/agents/agt_1/docs/a.md"]
    assert await blobs.list("ten_b/") == ["ten_b/agents/agt_2/docs/a.md"]
    assert await blobs.list("ten_c/") == []
    assert await blobs.list("") == sorted(keys)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside",
        "ten_a/../../outside",
        "ten_a/./x",
        "ten_a//x",
        "ten_a/x/",
        "ten_a\\..\\x",
        "ten_a/x\x00.md",
        ".~partial.abc",
    ],
)
async def test_keys_that_could_escape_are_rejected(blobs: LocalBlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await blobs.put(key, b"x")
    with pytest.raises(ValueError):
        await blobs.get(key)
    with pytest.raises(ValueError):
        await blobs.delete(key)


@pytest.mark.parametrize("prefix", ["/", "../", "ten_a/../", "ten_a//", "a\\b", "a\x00"])
async def test_bad_list_prefixes_are_rejected(blobs: LocalBlobStore, prefix: str) -> None:
    with pytest.raises(ValueError):
        await blobs.list(prefix)


def plant_symlink(root: Path, outside: Path) -> None:
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    root.mkdir()
    os.symlink(outside, root / "ten_evil")


async def test_symlink_out_of_the_root_is_refused(
    blobs: LocalBlobStore, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    plant_symlink(root, outside)
    with pytest.raises(ValueError):
        await blobs.get("ten_evil/secret")
    with pytest.raises(ValueError):
        await blobs.put("ten_evil/new", b"x")
    assert not (outside / "new").exists()


async def test_concurrent_writers_leave_one_whole_value(blobs: LocalBlobStore, root: Path) -> None:
    values = [bytes([i]) * 200_000 for i in range(16)]
    await asyncio.gather(*(blobs.put(DOC, v) for v in values))
    assert await blobs.get(DOC) in values
    assert os.listdir(root / DOC.rsplit("/", 1)[0]) == ["refunds.md"]  # no partial files left


async def test_partial_files_are_never_listed(blobs: LocalBlobStore, root: Path) -> None:
    await blobs.put(DOC, b"x")
    (root / "ten_a/agents/agt_1/docs/.~partial.tmp123").write_bytes(b"half")
    assert await blobs.list("ten_a/") == [DOC]


async def test_failed_write_keeps_the_old_value(
    blobs: LocalBlobStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await blobs.put(DOC, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        await blobs.put(DOC, b"new")
    monkeypatch.undo()
    assert await blobs.get(DOC) == b"old"
    assert await blobs.list("") == [DOC]
    assert os.listdir(root / DOC.rsplit("/", 1)[0]) == ["refunds.md"]

"""The local BlobStore: one file per key under a root folder, written atomically."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import tempfile
from pathlib import Path

from oratio_voice.store.base import Conflict, NotFound

# Partly written files carry this prefix until os.replace gives them their key's name.
_PARTIAL = ".~partial."


def check_key(key: str, *, prefix: bool = False) -> list[str]:
    """The key's segments; ValueError for anything that could leave the root (absolute paths,
    `.`/`..`, empty segments, backslashes, NUL). A list prefix may be empty or end in `/`."""
    if not isinstance(key, str):
        raise ValueError("a blob key must be a string")
    if not key and not prefix:
        raise ValueError("a blob key must not be empty")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"blob key {key!r} contains a backslash or NUL")
    if key.startswith("/"):
        raise ValueError(f"blob key {key!r} is absolute")
    segments = key.split("/")
    if prefix and segments[-1] == "":
        segments.pop()
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValueError(f"blob key {key!r} has an empty, '.' or '..' segment")
        if segment.startswith(_PARTIAL):
            raise ValueError(f"blob key {key!r} uses the reserved name {_PARTIAL!r}")
    return segments


class LocalBlobStore:
    """BlobStore over a local folder; keys such as `ten_x/agents/agt_y/docs/refunds.md`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    async def put(self, key: str, data: bytes) -> None:
        """Write the bytes atomically: readers see the old content or the new, never a part."""
        path = self._path(key)
        await asyncio.to_thread(self._write, path, bytes(data))

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(self._read, path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"blob {key} not found") from exc

    async def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error."""
        path = self._path(key)
        await asyncio.to_thread(self._unlink, path)

    async def list(self, prefix: str) -> list[str]:
        """Every key starting with `prefix` (plain string prefix, as in S3), sorted."""
        segments = check_key(prefix, prefix=True)
        # The deepest folder all matching keys must live under.
        folder_segments = segments if prefix.endswith("/") else segments[:-1]
        folder = self.root.joinpath(*folder_segments)
        keys = await asyncio.to_thread(self._walk, folder)
        return sorted(k for k in keys if k.startswith(prefix))

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key))

    def _confine(self, path: Path) -> None:
        """Defence in depth against symlinks planted inside the root (runs in the thread)."""
        if not path.resolve().is_relative_to(self.root):
            raise ValueError(f"blob path {path} resolves outside the blob root")

    def _read(self, path: Path) -> bytes:
        self._confine(path)
        return path.read_bytes()

    def _write(self, path: Path, data: bytes) -> None:
        self._confine(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise Conflict(f"a blob already exists where folder {path.parent} should be") from exc
        if path.is_dir():
            raise Conflict(f"blob key {path.relative_to(self.root)} names a folder of blobs")
        fd, tmp = tempfile.mkstemp(prefix=_PARTIAL, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _unlink(self, path: Path) -> None:
        self._confine(path)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()

    def _walk(self, folder: Path) -> builtins.list[str]:
        self._confine(folder)
        keys: builtins.list[str] = []
        for dirpath, _dirs, files in os.walk(folder):
            base = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                if not name.startswith(_PARTIAL):
                    keys.append(name if base == "." else f"{base}/{name}")
        return keys

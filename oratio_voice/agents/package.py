"""Versioned agent packages in blob storage: `{tenant}/agents/{agent}/versions/{n}/...`.

A version is complete once its manifest.json exists (written last), so a build that dies
half-way never becomes a version and the previous one keeps serving."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oratio_voice.agents.codegen import REQUIREMENTS
from oratio_voice.agents.intake import ExtractedDocument
from oratio_voice.agents.spec import AgentPlan, Review, SopSpec
from oratio_voice.store.base import BlobStore

MANIFEST = "manifest.json"
_VERSION = re.compile(r"/versions/(\d+)/manifest\.json$")


def versions_prefix(tenant_id: str, agent_id: str) -> str:
    return f"{tenant_id}/agents/{agent_id}/versions/"


def version_prefix(tenant_id: str, agent_id: str, version: int) -> str:
    return f"{versions_prefix(tenant_id, agent_id)}{version}/"


async def list_versions(blobs: BlobStore, tenant_id: str, agent_id: str) -> list[int]:
    """Complete versions, oldest first."""
    keys = await blobs.list(versions_prefix(tenant_id, agent_id))
    return sorted({int(m.group(1)) for k in keys if (m := _VERSION.search(k))})


def package_files(
    *,
    code: str,
    spec: SopSpec,
    plan: AgentPlan,
    reviews: list[Review],
    documents: list[ExtractedDocument],
    conversations: list[dict[str, Any]],
    tenant_id: str,
    agent_id: str,
    version: int,
    generator: str,
) -> dict[str, bytes]:
    """Every file of one version; manifest.json lists the others with their hashes."""
    files: dict[str, bytes] = {
        "agent.py": code.encode("utf-8"),
        "requirements.txt": REQUIREMENTS.encode("utf-8"),
    }
    for extracted in documents:
        stem = Path(extracted.document.name).stem
        files[f"knowledge/{stem}.md"] = extracted.text.encode("utf-8")
    manifest = {
        "format": 1,
        "tenant_id": tenant_id,
        "agent_id": agent_id,
        "name": plan.agent_name,
        "version": version,
        "created_at": datetime.now(UTC).isoformat(),
        "generator": generator,
        "entrypoint": "agent.py",
        "documents": [
            {
                "name": d.document.name,
                "sha256": d.document.sha256,
                "size": d.document.size,
                "content_type": d.document.content_type,
                "blob_key": d.document.blob_key,
            }
            for d in documents
        ],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        "spec": spec.model_dump(),
        "plan": plan.model_dump(),
        "review_history": [r.model_dump() for r in reviews],
        "scripted_conversations": conversations,
    }
    files[MANIFEST] = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
    return files


async def store_version(
    blobs: BlobStore, tenant_id: str, agent_id: str, version: int, files: dict[str, bytes]
) -> str:
    """Write the files, manifest last; returns the version's key prefix."""
    prefix = version_prefix(tenant_id, agent_id, version)
    for name, data in files.items():
        if name != MANIFEST:
            await blobs.put(prefix + name, data)
    await blobs.put(prefix + MANIFEST, files[MANIFEST])
    return prefix


async def load_version(
    blobs: BlobStore, tenant_id: str, agent_id: str, version: int
) -> dict[str, bytes]:
    """The files of one complete version (NotFound if it is not complete)."""
    prefix = version_prefix(tenant_id, agent_id, version)
    manifest = json.loads(await blobs.get(prefix + MANIFEST))
    files = {name: await blobs.get(prefix + name) for name in manifest["files"]}
    files[MANIFEST] = json.dumps(manifest).encode("utf-8")
    return files


def write_package(files: dict[str, bytes], folder: Path) -> Path:
    """Materialise a package on disk (for the local runtime); returns agent.py's path."""
    for name, data in files.items():
        path = (folder / name).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise ValueError(f"package file {name!r} escapes the package folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder / "agent.py"

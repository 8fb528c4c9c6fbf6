"""`oratio agents build FILE... --name NAME`: a build with a stage-by-stage progress display."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from oratio_voice.agents.creator import STAGES, BuildError, BuildProgress, BuildResult, build_agent
from oratio_voice.models import new_id

_MARK = {"started": "..", "done": "ok", "retry": "<>", "failed": "!!"}


class ProgressPrinter:
    """Prints one line per stage event: `[3/7] review   ok  cycle 1 approved`."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()

    def __call__(self, event: BuildProgress) -> None:
        number = STAGES.index(event.stage) + 1
        elapsed = time.monotonic() - self.started
        self.out.write(
            f"{elapsed:6.1f}s [{number}/{len(STAGES)}] {event.stage:<9} "
            f"{_MARK[event.status]}  {event.detail}\n"
        )
        self.out.flush()


async def build_from_paths(
    paths: list[str | Path],
    name: str,
    *,
    blobs: Any,
    tenant_id: str,
    agent_id: str | None = None,
    lm: Any = None,
    out: TextIO = sys.stdout,
) -> BuildResult:
    """Read the files and build; progress goes to `out`. Raises BuildError or OSError."""
    files = [(Path(p).name, await asyncio.to_thread(Path(p).read_bytes)) for p in paths]
    return await build_agent(
        files,
        name=name,
        tenant_id=tenant_id,
        agent_id=agent_id or new_id("agt"),
        blobs=blobs,
        progress=ProgressPrinter(out),
        lm=lm,
    )


def run_build_cli(
    paths: list[str | Path],
    name: str,
    data_dir: str | Path,
    *,
    tenant_id: str = "ten_local",
    agent_id: str | None = None,
    lm: Any = None,
    out: TextIO = sys.stdout,
) -> int:
    """The CLI body: builds into `<data_dir>/blobs`, prints progress, returns an exit code."""
    from oratio_voice.store.blobs import LocalBlobStore

    blobs = LocalBlobStore(Path(data_dir) / "blobs")
    try:
        result = asyncio.run(
            build_from_paths(
                paths, name, blobs=blobs, tenant_id=tenant_id, agent_id=agent_id, lm=lm, out=out
            )
        )
    except BuildError as exc:
        out.write(f"build failed at {exc.stage}: {exc.reason}\n")
        return 1
    except OSError as exc:
        out.write(f"cannot read {exc.filename}: {exc.strerror}\n")
        return 2
    spec = result.spec
    out.write(
        f"built {name!r} version {result.version} ({result.agent_id}): "
        f"{len(spec.procedures)} procedures, {len(spec.rules)} rules, "
        f"{len(spec.handoffs)} handoff conditions; stored at {result.prefix}\n"
    )
    return 0

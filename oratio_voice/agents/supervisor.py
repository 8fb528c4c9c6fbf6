"""Serving generated agents locally: a supervised `python agent.py` on a free loopback port,
checked by /ping and restarted when it dies; switching versions (or rolling back) is one call."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
from pathlib import Path

import httpx

from oratio_voice.agents.base import AgentError, AgentReply
from oratio_voice.agents.package import load_version, write_package
from oratio_voice.agents.runtime import LocalRuntimeAgentClient
from oratio_voice.store.base import BlobStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalAgentProcess:
    """One generated agent package served by its own interpreter on 127.0.0.1."""

    def __init__(
        self,
        package_dir: Path | str,
        *,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
        watch_interval: float = 1.0,
    ) -> None:
        self.package_dir = Path(package_dir)
        self.python = python
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.watch_interval = watch_interval
        self.port = 0
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.package_dir / "agent.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> str:
        async with self._lock:
            await self._spawn()
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        return self.base_url

    async def ensure_running(self) -> None:
        """Restart the process if it has died (called before each turn and by the watcher)."""
        if self.running:
            return
        async with self._lock:
            if not self.running:
                self.restarts += 1
                await self._spawn()

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()

    def client(self, *, timeout: float = 30.0) -> SupervisedAgentClient:
        return SupervisedAgentClient(self, timeout=timeout)

    async def _spawn(self) -> None:
        self.port = self.port or free_port()
        env = {**os.environ, **self.env, "ORATIO_AGENT_PORT": str(self.port)}
        env.pop("DOCKER_CONTAINER", None)  # BedrockAgentCoreApp would bind 0.0.0.0
        # A log file, not a pipe: nobody reads a pipe, and a full one would block the agent.
        log = await asyncio.to_thread(open, self.log_path, "ab")
        with log:
            self._process = await asyncio.create_subprocess_exec(
                self.python,
                "agent.py",
                cwd=self.package_dir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while loop.time() < deadline:
                process = self._process
                if process is None or process.returncode is not None:
                    raise AgentError(f"the agent process exited at start: {await self._stderr()}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await http.get(f"{self.base_url}/ping")
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AgentError(f"the agent did not answer /ping within {self.startup_timeout:.0f} s")

    async def _stderr(self) -> str:
        try:
            return self.log_path.read_bytes()[-800:].decode("utf-8", "replace")
        except OSError:
            return ""

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.watch_interval)
            with contextlib.suppress(AgentError):
                await self.ensure_running()


class SupervisedAgentClient:
    """The AgentClient for a supervised process: revives it and retries once on failure."""

    def __init__(self, process: LocalAgentProcess, *, timeout: float = 30.0) -> None:
        self.process = process
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout)

    async def invoke(self, session_id: str, message: str) -> AgentReply:
        await self.process.ensure_running()
        try:
            return await self._client().invoke(session_id, message)
        except AgentError:
            if self.process.running:
                raise
            await self.process.ensure_running()
            return await self._client().invoke(session_id, message)

    async def check(self) -> None:
        await self.process.ensure_running()
        await self._client().check()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _client(self) -> LocalRuntimeAgentClient:
        # The port survives restarts, but ask the process each time in case it changes.
        return LocalRuntimeAgentClient(self.process.base_url, client=self._http)


class LocalAgentRuntime:
    """Serves one agent's stored versions locally; `serve(n)` switches (or rolls back) to n."""

    def __init__(
        self, blobs: BlobStore, tenant_id: str, agent_id: str, workdir: Path | str
    ) -> None:
        self.blobs = blobs
        self.tenant_id = tenant_id
        self.agent_id = agent_id
        self.workdir = Path(workdir)
        self.version = 0
        self.process: LocalAgentProcess | None = None

    async def serve(self, version: int) -> LocalAgentProcess:
        """Start `version`; the old process stops only once the new one answers /ping."""
        files = await load_version(self.blobs, self.tenant_id, self.agent_id, version)
        folder = self.workdir / self.tenant_id / self.agent_id / f"v{version}"
        if folder.exists():
            shutil.rmtree(folder)
        write_package(files, folder)
        process = LocalAgentProcess(folder)
        await process.start()
        old, self.process, self.version = self.process, process, version
        if old is not None:
            await old.stop()
        return process

    async def rollback(self, version: int) -> LocalAgentProcess:
        return await self.serve(version)

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()
            self.process = None

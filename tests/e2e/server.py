"""The real `oratio demo` server as a subprocess on a free loopback port, fully offline."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60


@dataclass(frozen=True)
class DemoServer:
    base_url: str
    data_dir: Path
    log_path: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "oratio.db"

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_demo(data_dir: Path, **settings: str) -> Iterator[DemoServer]:
    """`oratio demo` with a fresh data dir; no ORATIO_* setting inherited but `settings`."""
    port = _free_port()
    server = DemoServer(f"http://127.0.0.1:{port}", data_dir, data_dir / "server.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | settings
    command = [sys.executable, "-m", "oratio_voice.cli", "demo", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    with server.log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(proc, server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_healthy(proc: subprocess.Popen[bytes], server: DemoServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"oratio demo exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if client.get(f"{server.base_url}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    pytest.fail(f"oratio demo not healthy after {STARTUP_TIMEOUT_S} s:\n{server.log_tail()}")

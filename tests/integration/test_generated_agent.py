"""A generated agent package served as a real process behind the AgentCore HTTP contract."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from oratio_voice.agents.base import AgentError
from oratio_voice.agents.creator import build_agent
from oratio_voice.agents.runtime import SESSION_HEADER, LocalRuntimeAgentClient
from oratio_voice.agents.supervisor import LocalAgentProcess, LocalAgentRuntime
from oratio_voice.store.blobs import LocalBlobStore

SOPS = Path(__file__).resolve().parents[2] / "examples" / "sops"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Versions 1 and 2 of the retail agent, built once for this module."""
    root = tmp_path_factory.mktemp("blobs")
    files = [("retail-returns.md", (SOPS / "retail-returns.md").read_bytes())]

    async def build_twice() -> None:
        for _ in range(2):
            await build_agent(
                files,
                name="Northwind",
                tenant_id="ten_a",
                agent_id="agt_r",
                blobs=LocalBlobStore(root),
            )

    asyncio.run(build_twice())
    return root


@pytest.fixture
async def runtime(built: Path, tmp_path: Path) -> AsyncIterator[LocalAgentRuntime]:
    serving = LocalAgentRuntime(LocalBlobStore(built), "ten_a", "agt_r", tmp_path / "run")
    yield serving
    await serving.stop()


async def test_generated_agent_answers_from_its_sop_and_hands_off(
    runtime: LocalAgentRuntime,
) -> None:
    process = await runtime.serve(2)
    assert process.base_url.startswith("http://127.0.0.1:")
    client = LocalRuntimeAgentClient(process.base_url, timeout=30)
    await client.check()

    refunds = await client.invoke("call-1", "How long does a refund take to arrive?")
    assert "within 5 to 7 business days" in refunds.text  # quoted from the SOP
    assert refunds.sources == [
        "retail-returns.md § Northwind Outfitters: Returns and Refunds SOP > Refunds"
    ]
    assert refunds.handoff == ""

    return_start = await client.invoke("call-1", "I need help with starting a return")
    assert "order number" in return_start.text
    assert return_start.handoff == ""

    injury = await client.invoke("call-2", "The tent pole snapped and I got an injury")
    assert injury.handoff.startswith("SOP rule: The customer reports an injury")
    assert "connect you" in injury.text

    person = await client.invoke("call-3", "Can I speak to a manager please")
    assert person.handoff

    hours = await client.invoke("call-4", "What are your opening hours on Saturday?")
    assert "Saturday from 9 am to 5 pm" in hours.text
    await client.aclose()


async def test_raw_contract_ping_session_header_and_bad_payload(
    runtime: LocalAgentRuntime,
) -> None:
    process = await runtime.serve(1)
    async with httpx.AsyncClient(base_url=process.base_url, timeout=30) as http:
        ping = (await http.get("/ping")).json()
        assert ping["status"] in {"Healthy", "HealthyBusy"}
        assert isinstance(ping["time_of_last_update"], int)
        response = await http.post(
            "/invocations",
            json={"prompt": "Can gift cards be returned?"},
            headers={SESSION_HEADER: "s" * 40},
        )
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) == {"text", "sources", "handoff"}
        assert "gift cards cannot be returned" in body["text"]
        bad = await http.post("/invocations", json={"nothing": 1})
        assert bad.status_code == 400
        assert "prompt" in bad.json()["error"]


async def test_supervisor_restarts_a_dead_agent_and_rolls_back(
    runtime: LocalAgentRuntime,
) -> None:
    process = await runtime.serve(2)
    client = process.client()
    first_pid = process.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    reply = await client.invoke("call-9", "How long does a refund take?")  # revived on demand
    assert "5 to 7 business days" in reply.text
    assert process.pid != first_pid and process.restarts == 1
    await client.check()

    old = await runtime.rollback(1)
    assert runtime.version == 1 and old is runtime.process
    assert not process.running  # version 2 stopped once version 1 answered /ping
    supervised = old.client()
    reply = await supervised.invoke("call-9", "Can I speak to a person?")
    assert reply.handoff
    await supervised.aclose()
    await client.aclose()


async def test_a_broken_package_fails_to_start_with_its_error(tmp_path: Path) -> None:
    (tmp_path / "agent.py").write_text("raise SystemExit('no model configured')\n")
    process = LocalAgentProcess(tmp_path, startup_timeout=20)
    with pytest.raises(AgentError, match="no model configured"):
        await process.start()
    await process.stop()

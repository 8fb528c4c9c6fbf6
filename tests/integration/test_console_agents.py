"""Agents over a real server: create from SOP uploads with the build streamed as Server-Sent
Events, bad and oversized uploads, validated configuration, pause/resume, archive."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from oratio_voice.demo import SAMPLE_SOP
from tests.conftest import LiveServer
from tests.integration.test_console_support import (
    Api,
    client,
    console_server,
    register,
    seed,
    seed_agent,
)

STAGES = ["intake", "parse", "plan", "review", "generate", "validate", "package"]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with console_server(tmp_path / "data") as live:
        yield live


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[Api]:
    async with client(server) as http:
        yield await register(http, "Northwind")


async def read_sse(api: Api, path: str, **params: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    kind = ""
    headers = {} if "token" in params else api.auth
    async with api.http.stream("GET", path, params=params, headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        async for line in answer.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


def upload(*files: tuple[str, bytes], name: str = "Returns desk") -> dict[str, Any]:
    return {"data": {"name": name}, "files": [("files", (n, data)) for n, data in files]}


async def test_create_agent_streams_its_build_and_goes_active(api: Api) -> None:
    created = await api.post("/api/agents", **upload(("returns.md", SAMPLE_SOP.read_bytes())))
    assert created.status_code == 202, created.text
    agent = created.json()
    assert agent["status"] == "building" and agent["documents"][0]["name"] == "returns.md"
    # EventSource cannot send headers: the token may ride in the query.
    events = await read_sse(api, f"/api/agents/{agent['id']}/build", token=api.access_token)
    progress = [data for kind, data in events if kind == "progress"]
    assert [p["stage"] for p in progress if p["status"] == "done"][-1] == "package"
    assert {p["stage"] for p in progress} == set(STAGES)
    assert events[-1] == ("end", {"state": "done", "error": "", "agent_status": "active"})
    ready = (await api.get(f"/api/agents/{agent['id']}")).json()
    assert ready["status"] == "active" and ready["version"] == 1
    status = (await api.get(f"/api/agents/{agent['id']}/build/status")).json()
    assert status["state"] == "done" and len(status["events"]) == len(progress)
    replay = await read_sse(api, f"/api/agents/{agent['id']}/build", token=api.access_token)
    assert replay == events  # a late page sees the whole build
    notes = (await api.get("/api/notifications")).json()
    assert any(n["kind"] == "build" and n["agent_id"] == agent["id"] for n in notes)
    audit = (await api.get("/api/audit")).json()
    assert audit[0]["action"] == "agent.create" and audit[0]["target"] == agent["id"]


async def test_a_build_that_fails_says_where(api: Api) -> None:
    prose = b"# About us\n\nWe are a friendly shop. We like our customers very much.\n"
    created = await api.post("/api/agents", **upload(("about.md", prose)))
    assert created.status_code == 202
    events = await read_sse(api, f"/api/agents/{created.json()['id']}/build")
    kind, end = events[-1]
    assert kind == "end" and end["state"] == "failed" and end["agent_status"] == "failed"
    assert end["error"].startswith("parse:")


@pytest.mark.parametrize(
    ("files", "status", "words"),
    [
        ([("logo.png", b"\x89PNG\r\n\x1a\n" + bytes(100))], 415, "PNG"),
        ([("sop.pdf", b"# Returns\n\n1. Ask for the order number\n")], 415, ".pdf"),
        ([("empty.md", b"   \n")], 422, "empty"),
        ([("a.md", b"# A\n- x"), ("a.md", b"# B\n- y")], 422, "same name"),
        ([("big.md", b"# Big\n" + b"x" * (300 * 1024))], 413, "limit"),
        ([(f"{n}.md", b"# A\n1. x") for n in range(21)], 422, "at most 20"),
        ([("one.md", b"#" * 600_000), ("two.md", b"#" * 600_000)], 413, "larger than"),
    ],
    ids=["image", "mismatch", "empty", "duplicate", "oversized", "too-many", "request-too-big"],
)
async def test_bad_uploads_are_refused_clearly(
    api: Api, files: list[tuple[str, bytes]], status: int, words: str
) -> None:
    answer = await api.post("/api/agents", **upload(*files))
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]
    assert (await api.get("/api/agents")).json() == []


async def test_upload_needs_files_and_a_name(api: Api) -> None:
    no_files = await api.post("/api/agents", data={"name": "x"})
    no_name = await api.post("/api/agents", files=[("files", ("a.md", b"# A\n1. x"))])
    assert no_files.status_code == no_name.status_code == 422


async def test_configuration_is_validated_and_merged(server: LiveServer, api: Api) -> None:
    agent = await seed_agent(server, api.tenant_id)
    change = {
        "voice": "Matthew",
        "language": "en-GB",
        "phone_numbers": ["+14155550123", "+442071838750"],
        "handoff": {"queue": "billing", "phrases": ["manager"], "target": "sip:desk@pbx.example"},
        "business_hours": {"timezone": "Europe/London", "days": {"0": "09:00-17:30"}},
    }
    answer = await api.patch(f"/api/agents/{agent.id}/config", json=change)
    assert answer.status_code == 200, answer.text
    config = answer.json()["config"]
    assert config["voice"] == "matthew" and config["language"] == "en-GB"
    assert config["handoff"]["queue"] == "billing" and config["handoff"]["warm"] is True
    assert config["business_hours"]["days"] == {"0": "09:00-17:30"}
    assert config["greeting"] == agent.config.greeting  # untouched
    stored = await server.services.store.tenant(api.tenant_id).get_agent(agent.id)
    assert stored.config.phone_numbers == change["phone_numbers"]
    audit = (await api.get("/api/audit")).json()
    assert audit[0]["action"] == "agent.config" and audit[0]["details"]["changes"]["voice"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"phone_numbers": ["555-0100"]}, "E.164"),
        ({"phone_numbers": ["+1415555012345678"]}, "E.164"),
        ({"phone_numbers": ["+14155550123", "+14155550123"]}, "repeat"),
        ({"voice": "hal9000"}, "unknown voice"),
        ({"language": "klingon"}, "unsupported language"),
        ({"business_hours": {"days": {"0": "9-5"}}}, "09:00-17:30"),
        ({"business_hours": {"days": {"0": "18:00-09:00"}}}, "ends before"),
        ({"business_hours": {"days": {"7": "09:00-17:00"}}}, "less than or equal"),
        ({"business_hours": {"timezone": "Mars/Olympus"}}, "time zone"),
        ({"handoff": {"target": "call bob"}}, "sip"),
        ({"handoff": {"dtmf": {"x": "transfer"}}}, "dtmf"),
        ({"handoff": {"negative_sentiment_threshold": 3}}, "less than or equal"),
        ({"handoff": {"queue": ""}}, "at least 1"),
        ({"endpointing": "FAST"}, "endpointing"),
        ({"colour": "blue"}, "Extra inputs"),
    ],
)
async def test_invalid_configuration_is_refused(
    server: LiveServer, api: Api, change: dict[str, Any], words: str
) -> None:
    agent = await seed_agent(server, api.tenant_id)
    answer = await api.patch(f"/api/agents/{agent.id}/config", json=change)
    assert answer.status_code == 422
    assert words in json.dumps(answer.json()["detail"])


async def test_a_number_belongs_to_one_agent(server: LiveServer, api: Api) -> None:
    first, second = await seed_agent(server, api.tenant_id), await seed_agent(server, api.tenant_id)
    number = {"phone_numbers": ["+14155550199"]}
    assert (await api.patch(f"/api/agents/{first.id}/config", json=number)).status_code == 200
    clash = await api.patch(f"/api/agents/{second.id}/config", json=number)
    assert clash.status_code == 409 and "+14155550199" in clash.json()["detail"]


async def test_rename_pause_resume_and_archive(server: LiveServer, api: Api) -> None:
    seeded = await seed(server, api.tenant_id)
    path = f"/api/agents/{seeded.agent.id}"
    renamed = await api.patch(path, json={"name": "Returns & exchanges", "description": "d"})
    assert renamed.json()["name"] == "Returns & exchanges"
    assert (await api.patch(path, json={"name": ""})).status_code == 422
    assert (await api.put(f"{path}/pause")).json()["status"] == "paused"
    assert (await api.put(f"{path}/resume")).json()["status"] == "active"
    await api.patch(f"{path}/config", json={"phone_numbers": ["+14155550111"]})
    assert (await api.delete(path)).status_code == 204
    assert (await api.get(path)).status_code == 404
    assert (await api.put(f"{path}/resume")).status_code == 404
    assert (await api.get("/api/agents")).json() == []
    archived = (await api.get("/api/agents", params={"include_archived": "true"})).json()
    assert archived[0]["status"] == "archived" and archived[0]["config"]["phone_numbers"] == []
    keys = (await api.get("/api/api-keys")).json()
    assert [k["status"] for k in keys] == ["revoked"]
    # The released number can go to another agent; the session history stays.
    other = await seed_agent(server, api.tenant_id)
    claim = {"phone_numbers": ["+14155550111"]}
    assert (await api.patch(f"/api/agents/{other.id}/config", json=claim)).status_code == 200
    assert (await api.get(f"/api/sessions/{seeded.session.id}")).status_code == 200
    actions = [e["action"] for e in (await api.get("/api/audit")).json()]
    for action in ("agent.update", "agent.pause", "agent.resume", "agent.delete"):
        assert action in actions


async def test_a_building_agent_cannot_be_reconfigured(server: LiveServer, api: Api) -> None:
    agent = await seed_agent(server, api.tenant_id)
    tenant = server.services.store.tenant(api.tenant_id)
    await tenant.put_agent(agent.model_copy(update={"status": "building"}))
    config = await api.patch(f"/api/agents/{agent.id}/config", json={"voice": "amy"})
    pause = await api.put(f"/api/agents/{agent.id}/pause")
    assert config.status_code == pause.status_code == 409


async def test_requests_without_a_token_are_refused(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for path in ("/api/agents", "/api/sessions", "/api/api-keys", "/api/notifications"):
            answer = await http.get(path)
            assert answer.status_code == 401 and answer.json()["detail"]


async def test_an_upload_streamed_without_length_is_cut_off(api: Api) -> None:
    boundary = "oratio-test-boundary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.md"\r\n'
        "Content-Type: text/markdown\r\n\r\n"
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nX\r\n'.encode()
        yield part
        for _ in range(20):  # 20 x 64 KiB: past the 1 MiB request limit
            yield b"#" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = await api.post(
        "/api/agents",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]


async def test_deleting_an_agent_mid_build_stops_the_build(server: LiveServer, api: Api) -> None:
    created = await api.post("/api/agents", **upload(("returns.md", SAMPLE_SOP.read_bytes())))
    agent_id = created.json()["id"]
    assert (await api.delete(f"/api/agents/{agent_id}")).status_code == 204
    tenant = server.services.store.tenant(api.tenant_id)
    assert (await tenant.get_agent(agent_id)).status == "archived"
    assert (await api.get(f"/api/agents/{agent_id}/build/status")).status_code == 404


async def test_a_build_cut_short_by_a_restart_is_reported(server: LiveServer, api: Api) -> None:
    agent = await seed_agent(server, api.tenant_id)
    tenant = server.services.store.tenant(api.tenant_id)
    long_ago = agent.updated_at - timedelta(minutes=11)
    await tenant.put_agent(agent.model_copy(update={"status": "building", "updated_at": long_ago}))
    status = (await api.get(f"/api/agents/{agent.id}/build/status")).json()
    assert status["state"] == "interrupted" and "restarted" in status["error"]
    assert (await api.get(f"/api/agents/{agent.id}")).json()["status"] == "failed"
    events = await read_sse(api, f"/api/agents/{agent.id}/build")
    assert events[-1][0] == "end" and events[-1][1]["state"] == "interrupted"

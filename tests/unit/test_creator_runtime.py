"""Runtime clients and deployment: httpx stubbed by respx, boto3 by botocore's Stubber (the real
service models validate every parameter)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import respx
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from oratio_voice.agents.base import AgentError, AgentReply
from oratio_voice.agents.bundle import BundleError
from oratio_voice.agents.deploy import AgentCoreDeployer, DeployError, runtime_name
from oratio_voice.agents.package import store_version
from oratio_voice.agents.runtime import (
    SESSION_HEADER,
    AgentCoreAgentClient,
    LocalRuntimeAgentClient,
    reply_from_sse,
    runtime_session_id,
)
from oratio_voice.models import Agent
from oratio_voice.store.blobs import LocalBlobStore

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/oratio_ten_a_agt_r-AbCdEf1234"
ROLE = "arn:aws:iam::123456789012:role/OratioAgentRuntime"
BASE = "http://127.0.0.1:9999"


def test_session_ids_meet_agentcore_minimum() -> None:
    short = runtime_session_id("ses_abc")
    assert len(short) >= 33 and short.startswith("ses_abc-")
    assert runtime_session_id("ses_abc") == short
    long = "x" * 40
    assert runtime_session_id(long) == long


def test_sse_lines_join_chunks_and_take_the_final_object() -> None:
    lines = ['data: "About refunds: "', "", 'data: "5 to 7 days."', ": comment"]
    assert reply_from_sse(lines) == AgentReply("About refunds: 5 to 7 days.")
    final = 'data: {"text": "Let me connect you.", "sources": [], "handoff": "injury"}'
    assert reply_from_sse(['data: "x"', final]).handoff == "injury"
    with pytest.raises(AgentError):
        reply_from_sse(["event: ping"])


@respx.mock
async def test_local_client_speaks_the_agentcore_contract() -> None:
    route = respx.post(f"{BASE}/invocations").mock(
        return_value=httpx.Response(
            200, json={"text": "About refunds: ...", "sources": ["a § Refunds"], "handoff": ""}
        )
    )
    client = LocalRuntimeAgentClient(BASE)
    reply = await client.invoke("ses_1", "How long do refunds take?")
    assert reply == AgentReply("About refunds: ...", ["a § Refunds"], "")
    request = route.calls.last.request
    assert json.loads(request.content) == {"prompt": "How long do refunds take?"}
    assert request.headers[SESSION_HEADER] == runtime_session_id("ses_1")
    await client.aclose()


@respx.mock
async def test_local_client_reads_sse_and_maps_failures_to_agent_error() -> None:
    client = LocalRuntimeAgentClient(BASE, timeout=1.0)
    sse = b'data: "Hello "\n\ndata: {"text": "Hello there", "sources": [], "handoff": ""}\n\n'
    respx.post(f"{BASE}/invocations").mock(
        side_effect=[
            httpx.Response(200, content=sse, headers={"content-type": "text/event-stream"}),
            httpx.Response(500, json={"error": "boom"}),
            httpx.ReadTimeout("slow"),
            httpx.ConnectError("refused"),
            httpx.Response(200, content=b"{not json"),
        ]
    )
    assert (await client.invoke("s", "hi")).text == "Hello there"
    with pytest.raises(AgentError, match="HTTP 500"):
        await client.invoke("s", "hi")
    with pytest.raises(AgentError, match="timed out"):
        await client.invoke("s", "hi")
    with pytest.raises(AgentError, match="unreachable"):
        await client.invoke("s", "hi")
    with pytest.raises(AgentError, match="malformed"):
        await client.invoke("s", "hi")
    respx.get(f"{BASE}/ping").mock(
        side_effect=[httpx.Response(200, json={"status": "Healthy"}), httpx.ConnectError("x")]
    )
    await client.check()
    with pytest.raises(AgentError):
        await client.check()
    await client.aclose()


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def _invoke_response(data: bytes, content_type: str) -> dict[str, Any]:
    return {"contentType": content_type, "response": _body(data), "statusCode": 200}


def _expected_invoke(session: str) -> dict[str, Any]:
    return {
        "agentRuntimeArn": ARN,
        "runtimeSessionId": runtime_session_id(session),
        "payload": ANY,
        "qualifier": "DEFAULT",
        "contentType": "application/json",
        "accept": "application/json, text/event-stream",
    }


async def test_agentcore_client_invokes_with_retry_on_throttling() -> None:
    boto = boto3.client("bedrock-agentcore", region_name="us-east-1")
    client = AgentCoreAgentClient(ARN, "us-east-1", client=boto, backoff=0.001)
    answer = json.dumps({"text": "About refunds: 5 to 7 days.", "sources": ["r"], "handoff": ""})
    sse = b'data: "Let me "\n\ndata: {"text": "Let me connect you.", "handoff": "injury"}\n\n'
    with Stubber(boto) as stub:
        stub.add_client_error(
            "invoke_agent_runtime", "ThrottlingException", "slow down", 429, _expected_invoke("c1")
        )
        stub.add_response(
            "invoke_agent_runtime",
            _invoke_response(answer.encode(), "application/json"),
            _expected_invoke("c1"),
        )
        stub.add_response(
            "invoke_agent_runtime",
            _invoke_response(sse, "text/event-stream"),
            _expected_invoke("c1"),
        )
        stub.add_client_error(
            "invoke_agent_runtime", "ValidationException", "bad", 400, _expected_invoke("c2")
        )
        assert await client.invoke("c1", "refunds?") == AgentReply(
            "About refunds: 5 to 7 days.", ["r"], ""
        )
        reply = await client.invoke("c1", "I got hurt")
        assert reply.handoff == "injury" and reply.text == "Let me connect you."
        with pytest.raises(AgentError, match="ValidationException"):
            await client.invoke("c2", "x")
        stub.assert_no_pending_responses()


async def test_agentcore_client_gives_up_after_repeated_throttling() -> None:
    boto = boto3.client("bedrock-agentcore", region_name="us-east-1")
    client = AgentCoreAgentClient(ARN, "us-east-1", client=boto, max_attempts=2, backoff=0.001)
    with Stubber(boto) as stub:
        for _ in range(2):
            stub.add_client_error("invoke_agent_runtime", "ThrottlingException", "slow", 429)
        with pytest.raises(AgentError, match="ThrottlingException"):
            await client.invoke("c", "x")


async def test_agentcore_check_reads_runtime_status() -> None:
    control = boto3.client("bedrock-agentcore-control", region_name="us-east-1")
    client = AgentCoreAgentClient(ARN, "us-east-1", control=control)
    described = {
        "agentRuntimeArn": ARN,
        "agentRuntimeName": "oratio_ten_a_agt_r",
        "agentRuntimeId": "oratio_ten_a_agt_r-AbCdEf1234",
        "agentRuntimeVersion": "1",
        "createdAt": datetime(2025, 1, 1, tzinfo=UTC),
        "lastUpdatedAt": datetime(2025, 1, 1, tzinfo=UTC),
        "roleArn": ROLE,
        "lifecycleConfiguration": {"idleRuntimeSessionTimeout": 900, "maxLifetime": 28800},
    }
    with Stubber(control) as stub:
        expected = {"agentRuntimeId": "oratio_ten_a_agt_r-AbCdEf1234"}
        stub.add_response("get_agent_runtime", described | {"status": "READY"}, expected)
        stub.add_response("get_agent_runtime", described | {"status": "UPDATING"}, expected)
        await client.check()
        with pytest.raises(AgentError, match="UPDATING"):
            await client.check()


async def _stored_versions(tmp_path: Path) -> LocalBlobStore:
    blobs = LocalBlobStore(tmp_path)
    for version in (1, 2):
        files = {"agent.py": f"# v{version}\n".encode(), "requirements.txt": b"strands-agents\n"}
        manifest = {"version": version, "files": {name: "" for name in files}}
        files["manifest.json"] = json.dumps(manifest).encode()
        await store_version(blobs, "ten_a", "agt_r", version, files)
    return blobs


def _runtime_response(version: str, *, updated: bool = False) -> dict[str, Any]:
    response = {
        "agentRuntimeArn": ARN,
        "agentRuntimeId": "oratio_ten_a_agt_r-AbCdEf1234",
        "agentRuntimeVersion": version,
        "createdAt": datetime(2025, 1, 1, tzinfo=UTC),
        "status": "UPDATING" if updated else "CREATING",
    }
    if updated:
        response["lastUpdatedAt"] = datetime(2025, 1, 2, tzinfo=UTC)
    return response


def _expected_runtime(version: int) -> dict[str, Any]:
    return {
        "agentRuntimeArtifact": {
            "codeConfiguration": {
                "code": {
                    "s3": {
                        "bucket": "oratio-bucket",
                        "prefix": f"agents/ten_a/agt_r/v{version}.zip",
                    }
                },
                "runtime": "PYTHON_3_13",
                "entryPoint": ["agent.py"],
            }
        },
        "roleArn": ROLE,
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "description": f"Oratio Voice agent agt_r version {version}",
        "environmentVariables": {
            "ORATIO_AGENT_VERSION": str(version),
            "ORATIO_AGENT_MODEL_ID": "anthropic.claude-3-5-haiku-20241022-v1:0",
        },
    }


def fake_install(command: list[str]) -> None:
    """Stands in for `uv pip install --target DIR ...` (no PyPI in tests)."""
    target = Path(command[command.index("--target") + 1])
    (target / "strands").mkdir()
    (target / "strands" / "__init__.py").write_text("")


async def test_deploy_creates_then_updates_and_rolls_back(tmp_path: Path) -> None:
    blobs = await _stored_versions(tmp_path)
    control = boto3.client("bedrock-agentcore-control", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    deployer = AgentCoreDeployer(
        region="us-east-1",
        role_arn=ROLE,
        bucket="oratio-bucket",
        key_prefix="agents",
        model_id="anthropic.claude-3-5-haiku-20241022-v1:0",
        control=control,
        s3=s3,
        installer=fake_install,
    )
    uploads: list[bytes] = []

    def put(version: int) -> dict[str, Any]:
        return {"Bucket": "oratio-bucket", "Key": f"agents/ten_a/agt_r/v{version}.zip", "Body": ANY}

    with Stubber(control) as cstub, Stubber(s3) as sstub:
        for version in (1, 2, 1):
            sstub.add_response("put_object", {"ETag": '"e"'}, put(version))
        cstub.add_response(
            "create_agent_runtime",
            _runtime_response("1"),
            {"agentRuntimeName": runtime_name("ten_a", "agt_r"), **_expected_runtime(1)},
        )
        runtime_id = "oratio_ten_a_agt_r-AbCdEf1234"
        cstub.add_response(
            "update_agent_runtime",
            _runtime_response("2", updated=True),
            {"agentRuntimeId": runtime_id, **_expected_runtime(2)},
        )
        cstub.add_response(
            "update_agent_runtime",
            _runtime_response("3", updated=True),
            {"agentRuntimeId": runtime_id, **_expected_runtime(1)},
        )
        s3.meta.events.register(
            "before-parameter-build.s3.PutObject",
            lambda params, **_: uploads.append(params["Body"]),
        )
        first = await deployer.deploy(blobs, "ten_a", "agt_r", 1)
        assert (first.arn, first.runtime_id, first.agent_version) == (ARN, runtime_id, 1)
        second = await deployer.deploy(blobs, "ten_a", "agt_r", 2, runtime_id=runtime_id)
        assert second.runtime_version == "2"
        back = await deployer.rollback(blobs, "ten_a", "agt_r", to_version=1, runtime_id=runtime_id)
        assert (back.agent_version, back.runtime_version) == (1, "3")
        cstub.assert_no_pending_responses()
    with zipfile.ZipFile(io.BytesIO(uploads[0])) as archive:
        assert archive.read("agent.py") == b"# v1\n"
        assert "strands/__init__.py" in archive.namelist()  # dependencies at the zip root
    agent = back.apply_to(Agent(tenant_id="ten_a", name="Northwind", version=2))
    assert (agent.runtime_arn, agent.version) == (ARN, 1)


async def test_deploy_failure_is_a_deploy_error(tmp_path: Path) -> None:
    blobs = await _stored_versions(tmp_path)
    control = boto3.client("bedrock-agentcore-control", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    deployer = AgentCoreDeployer(
        region="us-east-1",
        role_arn=ROLE,
        bucket="oratio-bucket",
        control=control,
        s3=s3,
        installer=fake_install,
    )
    with Stubber(s3) as sstub:
        sstub.add_client_error("put_object", "AccessDenied", "no", 403)
        with pytest.raises(DeployError, match="version 2"):
            await deployer.deploy(blobs, "ten_a", "agt_r", 2)


async def test_a_failed_bundle_is_a_deploy_error_before_any_upload(tmp_path: Path) -> None:
    blobs = await _stored_versions(tmp_path)
    s3 = boto3.client("s3", region_name="us-east-1")

    def failing_install(command: list[str]) -> None:
        raise BundleError("no aarch64 wheel for somepkg")

    deployer = AgentCoreDeployer(
        region="us-east-1",
        role_arn=ROLE,
        bucket="oratio-bucket",
        control=boto3.client("bedrock-agentcore-control", region_name="us-east-1"),
        s3=s3,
        installer=failing_install,
    )
    with Stubber(s3) as sstub:  # no response queued: an upload would fail the test
        with pytest.raises(DeployError, match="bundling agt_r version 1 failed: no aarch64"):
            await deployer.deploy(blobs, "ten_a", "agt_r", 1)
        sstub.assert_no_pending_responses()

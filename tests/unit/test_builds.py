"""AgentBuilder: a build registers a new version; with AgentCore configured it deploys it,
and a rollback is one call. boto3 is checked by botocore's Stubber (real service models)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from oratio_voice.agents.deploy import AgentCoreDeployer, DeployError
from oratio_voice.builds import AgentBuilder
from oratio_voice.events import InProcessEventBus
from oratio_voice.models import Tenant
from oratio_voice.store.blobs import LocalBlobStore
from oratio_voice.store.sqlite import SQLiteStore

SOP = (Path(__file__).resolve().parents[2] / "examples" / "sops" / "retail-returns.md").read_bytes()
ROLE = "arn:aws:iam::123456789012:role/OratioAgentRuntime"
ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/oratio_ten_a_agt_r-AbCdEf1234"


def fake_install(command: list[str]) -> None:
    """Stands in for `uv pip install --target DIR ...` (no PyPI in tests)."""
    assert "aarch64-manylinux2014" in command and "--only-binary=:all:" in command


def runtime(version: str) -> dict[str, Any]:
    response = {
        "agentRuntimeArn": ARN,
        "agentRuntimeId": "oratio_ten_a_agt_r-AbCdEf1234",
        "agentRuntimeVersion": version,
        "createdAt": "2026-11-28T00:00:00Z",
        "status": "CREATING" if version == "1" else "UPDATING",
    }
    if version != "1":
        response["lastUpdatedAt"] = "2026-11-28T00:00:00Z"
    return response


async def test_builds_deploy_and_roll_back(tmp_path: Path) -> None:
    control = boto3.client("bedrock-agentcore-control", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    deployer = AgentCoreDeployer(
        region="us-east-1",
        role_arn=ROLE,
        bucket="b",
        control=control,
        s3=s3,
        installer=fake_install,
    )
    async with SQLiteStore(tmp_path / "o.db") as store:
        await store.put_tenant(Tenant(id="ten_a", name="A"))
        builder = AgentBuilder(
            store, LocalBlobStore(tmp_path / "blobs"), InProcessEventBus(), deployer
        )
        with Stubber(control) as cstub, Stubber(s3) as sstub:
            for _ in range(3):
                sstub.add_response(
                    "put_object", {"ETag": '"e"'}, {"Bucket": "b", "Key": ANY, "Body": ANY}
                )
            cstub.add_response(
                "create_agent_runtime",
                runtime("1"),
                {
                    "agentRuntimeName": "oratio_ten_a_agt_r",
                    "agentRuntimeArtifact": ANY,
                    "roleArn": ROLE,
                    "networkConfiguration": ANY,
                    "description": ANY,
                    "environmentVariables": ANY,
                },
            )
            for version in ("2", "3"):
                cstub.add_response(
                    "update_agent_runtime",
                    runtime(version),
                    {
                        "agentRuntimeId": "oratio_ten_a_agt_r-AbCdEf1234",
                        "agentRuntimeArtifact": ANY,
                        "roleArn": ROLE,
                        "networkConfiguration": ANY,
                        "description": ANY,
                        "environmentVariables": ANY,
                    },
                )
            first = await builder.build("ten_a", "Returns", [("r.md", SOP)], agent_id="agt_r")
            assert (first.version, first.runtime_arn) == (1, ARN)
            second = await builder.build("ten_a", "Returns", [("r.md", SOP)], agent_id="agt_r")
            assert second.version == 2
            back = await builder.deploy("ten_a", "agt_r", 1)  # rollback: one call
            assert back.version == 1 and back.runtime_arn == ARN
            cstub.assert_no_pending_responses()
        titles = [n.title for n in await store.tenant("ten_a").list_notifications()]
        assert "Returns version 1 is live on AgentCore" in titles


async def test_a_failed_deploy_keeps_the_previous_deployment(tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    deployer = AgentCoreDeployer(
        region="us-east-1",
        role_arn=ROLE,
        bucket="b",
        s3=s3,
        control=boto3.client("bedrock-agentcore-control", region_name="us-east-1"),
        installer=fake_install,
    )
    async with SQLiteStore(tmp_path / "o.db") as store:
        await store.put_tenant(Tenant(id="ten_a", name="A"))
        builder = AgentBuilder(
            store, LocalBlobStore(tmp_path / "blobs"), InProcessEventBus(), deployer
        )
        with Stubber(s3) as sstub:
            sstub.add_client_error("put_object", "AccessDenied", "no", 403)
            with pytest.raises(DeployError):
                await builder.build("ten_a", "Returns", [("r.md", SOP)], agent_id="agt_r")
        agent = await store.tenant("ten_a").get_agent("agt_r")
        assert agent.version == 1 and agent.status == "active" and not agent.runtime_arn

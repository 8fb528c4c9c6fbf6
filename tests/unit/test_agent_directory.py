"""ORATIO_AGENT_RUNTIME=agentcore: agents with a runtime ARN are invoked on Bedrock AgentCore
(boto3 checked by botocore's Stubber against the real service model), one runtime session per
call; a missing or wrong region is named at start-up and in readiness, never a traceback."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from oratio_voice.agents.base import AgentError, AgentReply
from oratio_voice.agents.directory import AgentDirectory, UnavailableAgentClient, arn_region
from oratio_voice.agents.local import InProcessAgentClient
from oratio_voice.agents.runtime import AgentCoreAgentClient, runtime_session_id
from oratio_voice.config import Settings
from oratio_voice.models import Agent
from oratio_voice.services import Services
from oratio_voice.store.blobs import LocalBlobStore
from tests.scripted_engine import ScriptedEngine

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/oratio_ten_a_agt_r-AbCdEf1234"
OTHER = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/oratio_ten_a_agt_s-ZyXw987654"


def directory(tmp_path: Path, region: str = "us-east-1") -> AgentDirectory:
    blobs = LocalBlobStore(tmp_path / "blobs")
    return AgentDirectory(
        blobs,
        "agentcore",
        tmp_path / "runtime",
        region=region,
        endpoint_url="https://agentcore.vpce.example",
        timeout=4.0,
    )


def answer(text: str) -> dict[str, object]:
    data = json.dumps({"text": text, "sources": ["returns.md#2"]}).encode()
    return {
        "contentType": "application/json",
        "response": StreamingBody(io.BytesIO(data), len(data)),
        "statusCode": 200,
    }


async def test_agents_with_a_runtime_arn_are_invoked_on_agentcore(tmp_path: Path) -> None:
    agents = directory(tmp_path)
    agent = Agent(tenant_id="ten_a", name="Shop", runtime_arn=ARN)
    client = await agents.client_for(agent)
    assert isinstance(client, AgentCoreAgentClient) and client.arn == ARN
    boto = client.client
    assert boto.meta.region_name == "us-east-1"
    assert boto.meta.endpoint_url == "https://agentcore.vpce.example"
    assert boto.meta.config.read_timeout == 4.0
    assert boto.meta.config.retries["total_max_attempts"] == 1  # our own retries only
    with Stubber(boto) as stub:
        for call, text in (("ses_call1", "30 days."), ("ses_call1", "Yes."), ("ses_call2", "Hi")):
            stub.add_response(
                "invoke_agent_runtime",
                answer(text),
                {
                    "agentRuntimeArn": ARN,
                    "runtimeSessionId": runtime_session_id(call),
                    "payload": json.dumps({"prompt": f"{call}?"}).encode(),
                    "qualifier": "DEFAULT",
                    "contentType": "application/json",
                    "accept": "application/json, text/event-stream",
                },
            )
        first = await client.invoke("ses_call1", "ses_call1?")
        assert first == AgentReply("30 days.", ["returns.md#2"])
        await client.invoke("ses_call1", "ses_call1?")  # same call, same runtime session
        await client.invoke("ses_call2", "ses_call2?")  # another call, its own session
        stub.assert_no_pending_responses()
    assert await agents.client_for(agent) is client  # cached while the agent is unchanged
    redeployed = agent.model_copy(
        update={"runtime_arn": OTHER, "updated_at": agent.updated_at + timedelta(seconds=1)}
    )
    moved = await agents.client_for(redeployed)
    assert isinstance(moved, AgentCoreAgentClient) and moved.arn == OTHER
    assert (await agents.check()) == "ok (agentcore in us-east-1: 0 agent process(es))"


async def test_agents_not_yet_deployed_are_served_locally(tmp_path: Path) -> None:
    client = await directory(tmp_path).client_for(Agent(tenant_id="ten_a", name="Shop"))
    assert isinstance(client, InProcessAgentClient)


async def test_a_missing_region_names_the_setting(tmp_path: Path) -> None:
    agents = directory(tmp_path, region="")
    with pytest.raises(RuntimeError, match="set ORATIO_AWS_REGION"):
        await agents.check()
    client = await agents.client_for(Agent(tenant_id="ten_a", name="Shop", runtime_arn=ARN))
    assert isinstance(client, UnavailableAgentClient)
    with pytest.raises(AgentError, match="ORATIO_AGENT_RUNTIME=agentcore needs the AgentCore"):
        await client.invoke("ses_1", "hello")  # the call hands off with the reason


async def test_a_runtime_in_another_region_is_reported(tmp_path: Path) -> None:
    agents = directory(tmp_path, region="eu-west-1")
    agent = Agent(id="agt_r", tenant_id="ten_a", name="Shop", runtime_arn=ARN)
    client = await agents.client_for(agent)
    assert isinstance(client, UnavailableAgentClient)
    with pytest.raises(RuntimeError, match="is not in ORATIO_AWS_REGION=eu-west-1"):
        await agents.check()


def test_arn_region() -> None:
    assert arn_region(ARN) == "us-east-1"
    assert arn_region("not-an-arn") == ""


async def test_services_report_the_missing_region_at_start_up_and_in_readiness(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, agent_runtime="agentcore")
    services = Services.from_settings(settings, engine=ScriptedEngine())
    with caplog.at_level(logging.ERROR):
        async with services.running():
            checks = await services.readiness()
    assert checks["agent_runtime"].startswith("error: ")
    assert "set ORATIO_AWS_REGION" in checks["agent_runtime"]
    assert any("set ORATIO_AWS_REGION" in record.getMessage() for record in caplog.records)

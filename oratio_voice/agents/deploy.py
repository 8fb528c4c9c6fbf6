"""Deploying a stored agent version to Bedrock AgentCore through the control plane
(`bedrock-agentcore-control`): the package is zipped to S3 and the agent runtime is created
or updated to point at it. Rolling back redeploys an earlier version: one call. The zip is
bundled with its dependencies (see `bundle`), since AgentCore installs none."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oratio_voice.agents.bundle import BundleError, Installer, bundle_package, run_installer
from oratio_voice.agents.package import load_version
from oratio_voice.models import Agent, now
from oratio_voice.store.base import BlobStore


class DeployError(Exception):
    """AgentCore (or S3) refused the deployment."""


@dataclass(frozen=True, slots=True)
class Deployment:
    arn: str
    runtime_id: str
    runtime_version: str
    agent_version: int
    status: str

    def apply_to(self, agent: Agent) -> Agent:
        """The agent record pointing at this deployment."""
        return agent.model_copy(
            update={"runtime_arn": self.arn, "version": self.agent_version, "updated_at": now()}
        )


def runtime_name(tenant_id: str, agent_id: str) -> str:
    """AgentCore names: [a-zA-Z][a-zA-Z0-9_]{0,47}."""
    raw = re.sub(r"[^A-Za-z0-9_]", "_", f"oratio_{tenant_id}_{agent_id}")
    return raw[:48]


def zip_package(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return out.getvalue()


class AgentCoreDeployer:
    """Create or update one AgentCore runtime per agent from its stored versions."""

    def __init__(
        self,
        *,
        region: str,
        role_arn: str,
        bucket: str,
        key_prefix: str = "oratio-agents",
        model_id: str = "",
        control: Any = None,
        s3: Any = None,
        python_runtime: str = "PYTHON_3_13",
        bundle: bool = True,
        installer: Installer = run_installer,
        uv: Sequence[str] | None = None,
    ) -> None:
        import boto3

        self.region = region
        self.role_arn = role_arn
        self.bucket = bucket
        self.key_prefix = key_prefix.strip("/")
        self.model_id = model_id
        self.python_runtime = python_runtime
        self.bundle = bundle
        self.installer = installer
        self.uv = uv
        self.control = control or boto3.client("bedrock-agentcore-control", region_name=region)
        self.s3 = s3 or boto3.client("s3", region_name=region)

    def artifact(self, files: dict[str, bytes]) -> bytes:
        """The zip uploaded for a version: bundled with its dependencies unless `bundle=False`."""
        if not self.bundle:
            return zip_package(files)
        return bundle_package(files, install=self.installer, uv=self.uv)

    async def deploy(
        self,
        blobs: BlobStore,
        tenant_id: str,
        agent_id: str,
        version: int,
        *,
        runtime_id: str = "",
    ) -> Deployment:
        """Upload version `version` and point the runtime at it (created if `runtime_id` is '')."""
        from botocore.exceptions import BotoCoreError, ClientError

        files = await load_version(blobs, tenant_id, agent_id, version)
        key = f"{self.key_prefix}/{tenant_id}/{agent_id}/v{version}.zip"
        artifact = {
            "codeConfiguration": {
                "code": {"s3": {"bucket": self.bucket, "prefix": key}},
                "runtime": self.python_runtime,
                "entryPoint": ["agent.py"],
            }
        }
        common: dict[str, Any] = {
            "agentRuntimeArtifact": artifact,
            "roleArn": self.role_arn,
            "networkConfiguration": {"networkMode": "PUBLIC"},
            "description": f"Oratio Voice agent {agent_id} version {version}",
            "environmentVariables": {"ORATIO_AGENT_VERSION": str(version)}
            | ({"ORATIO_AGENT_MODEL_ID": self.model_id} if self.model_id else {}),
        }
        try:
            body = await asyncio.to_thread(self.artifact, files)
        except BundleError as exc:
            raise DeployError(f"bundling {agent_id} version {version} failed: {exc}") from exc
        try:
            await asyncio.to_thread(self.s3.put_object, Bucket=self.bucket, Key=key, Body=body)
            if runtime_id:
                response = await asyncio.to_thread(
                    self.control.update_agent_runtime, agentRuntimeId=runtime_id, **common
                )
            else:
                response = await asyncio.to_thread(
                    self.control.create_agent_runtime,
                    agentRuntimeName=runtime_name(tenant_id, agent_id),
                    **common,
                )
        except (ClientError, BotoCoreError) as exc:
            raise DeployError(f"deploying {agent_id} version {version} failed: {exc}") from exc
        return Deployment(
            arn=response["agentRuntimeArn"],
            runtime_id=response["agentRuntimeId"],
            runtime_version=str(response["agentRuntimeVersion"]),
            agent_version=version,
            status=str(response["status"]),
        )

    async def rollback(
        self, blobs: BlobStore, tenant_id: str, agent_id: str, *, to_version: int, runtime_id: str
    ) -> Deployment:
        """Point the existing runtime back at an earlier stored version."""
        return await self.deploy(blobs, tenant_id, agent_id, to_version, runtime_id=runtime_id)


def runtime_id_of(arn: str) -> str:
    """arn:aws:bedrock-agentcore:us-east-1:123:runtime/NAME-abc -> NAME-abc."""
    return arn.rsplit("/", 1)[-1]

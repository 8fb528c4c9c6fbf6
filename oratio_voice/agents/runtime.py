"""AgentClients for generated agents behind the AgentCore runtime contract: a local process
over HTTP (POST /invocations, GET /ping), and a deployed runtime through boto3."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from oratio_voice.agents.base import AgentError, AgentReply

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
# AgentCore calls block a thread until they answer or time out; in their own pool, an agent
# outage across many calls cannot starve the default executor that transfers calls to people.
AGENTCORE_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="agentcore")
MIN_SESSION_ID = 33
MAX_SESSION_ID = 256


def runtime_session_id(session_id: str) -> str:
    """AgentCore wants 33-256 characters; short call ids get a stable hash suffix."""
    if len(session_id) >= MIN_SESSION_ID:
        return session_id[:MAX_SESSION_ID]
    digest = hashlib.sha256(session_id.encode()).hexdigest()[:32]
    return f"{session_id}-{digest}"


def reply_from_json(data: object) -> AgentReply:
    """{"text", "sources", "handoff"} (or a bare string) -> AgentReply."""
    if isinstance(data, str):
        return AgentReply(data)
    if not isinstance(data, dict):
        raise AgentError(f"the agent answered {type(data).__name__}, not a JSON object")
    if "error" in data and "text" not in data:
        raise AgentError(f"the agent failed: {data['error']}")
    text = data.get("text", data.get("response", ""))
    sources = data.get("sources") or []
    if not isinstance(text, str) or not isinstance(sources, list):
        raise AgentError("the agent's reply has no text")
    return AgentReply(text, [str(s) for s in sources], str(data.get("handoff") or ""))


def reply_from_sse(lines: Iterable[str]) -> AgentReply:
    """Server-sent events: string chunks are joined; a final object carries sources/handoff."""
    chunks: list[str] = []
    final: AgentReply | None = None
    for line in lines:
        if not line.startswith("data:"):
            continue
        raw = line[5:].strip()
        if not raw:
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            chunks.append(raw)
            continue
        if isinstance(event, str):
            chunks.append(event)
        else:
            final = reply_from_json(event)
    if final is not None:
        return AgentReply(final.text or "".join(chunks), final.sources, final.handoff)
    if not chunks:
        raise AgentError("the agent's event stream carried no answer")
    return AgentReply("".join(chunks))


class LocalRuntimeAgentClient:
    """A generated agent served on loopback by BedrockAgentCoreApp (same contract as AWS)."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def invoke(self, session_id: str, message: str) -> AgentReply:
        headers = {SESSION_HEADER: runtime_session_id(session_id), "Accept": "application/json"}
        try:
            async with self._client.stream(
                "POST",
                f"{self.base_url}/invocations",
                json={"prompt": message},
                headers=headers,
            ) as response:
                if response.status_code >= 400:
                    body = (await response.aread()).decode("utf-8", "replace")[:300]
                    raise AgentError(f"the agent answered HTTP {response.status_code}: {body}")
                if "text/event-stream" in response.headers.get("content-type", ""):
                    lines = [line async for line in response.aiter_lines()]
                    return reply_from_sse(lines)
                return reply_from_json(json.loads(await response.aread()))
        except httpx.TimeoutException as exc:
            raise AgentError(f"the agent at {self.base_url} timed out") from exc
        except httpx.HTTPError as exc:
            raise AgentError(f"the agent at {self.base_url} is unreachable: {exc}") from exc
        except ValueError as exc:
            raise AgentError(f"the agent answered malformed JSON: {exc}") from exc

    async def check(self) -> None:
        try:
            response = await self._client.get(f"{self.base_url}/ping", timeout=5.0)
            status = response.json().get("status")
        except (httpx.HTTPError, ValueError) as exc:
            raise AgentError(f"the agent at {self.base_url} is unreachable: {exc}") from exc
        if status not in {"Healthy", "HealthyBusy"}:
            raise AgentError(f"the agent at {self.base_url} reports {status!r}")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


class AgentCoreAgentClient:
    """A generated agent deployed to Bedrock AgentCore (boto3 `bedrock-agentcore`). Retries are
    this class's own (throttling only, with backoff): botocore's would keep a caller waiting."""

    def __init__(
        self,
        arn: str,
        region: str,
        *,
        client: Any = None,
        control: Any = None,
        qualifier: str = "DEFAULT",
        max_attempts: int = 4,
        backoff: float = 0.25,
        endpoint_url: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.arn = arn
        self.qualifier = qualifier
        self.client = client or boto3.client(
            "bedrock-agentcore",
            region_name=region,
            endpoint_url=endpoint_url or None,
            config=Config(
                connect_timeout=min(timeout, 5.0),
                read_timeout=timeout,
                retries={"total_max_attempts": 1},
            ),
        )
        self._control = control
        self._region = region
        self.max_attempts = max_attempts
        self.backoff = backoff

    async def invoke(self, session_id: str, message: str) -> AgentReply:
        from botocore.exceptions import BotoCoreError, ClientError

        payload = json.dumps({"prompt": message}).encode("utf-8")
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    AGENTCORE_THREADS, self._invoke_sync, session_id, payload
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                retryable = code in {"ThrottlingException", "ServiceQuotaExceededException"}
                if retryable and attempt < self.max_attempts:
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise AgentError(f"AgentCore refused the call ({code}): {exc}") from exc
            except BotoCoreError as exc:
                raise AgentError(f"AgentCore is unreachable: {exc}") from exc
        raise AgentError("AgentCore kept throttling")  # pragma: no cover - loop always returns

    def _invoke_sync(self, session_id: str, payload: bytes) -> AgentReply:
        response = self.client.invoke_agent_runtime(
            agentRuntimeArn=self.arn,
            runtimeSessionId=runtime_session_id(session_id),
            payload=payload,
            qualifier=self.qualifier,
            contentType="application/json",
            accept="application/json, text/event-stream",
        )
        body = response["response"]
        if "text/event-stream" in response.get("contentType", ""):
            return reply_from_sse(line.decode("utf-8", "replace") for line in body.iter_lines())
        try:
            return reply_from_json(json.loads(body.read()))
        except ValueError as exc:
            raise AgentError(f"AgentCore returned malformed JSON: {exc}") from exc

    async def check(self) -> None:
        """The runtime must exist and be READY (control plane `get_agent_runtime`)."""
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        control = self._control or boto3.client(
            "bedrock-agentcore-control", region_name=self._region
        )
        runtime_id = self.arn.rsplit("/", 1)[-1]
        try:
            described = await asyncio.to_thread(
                control.get_agent_runtime, agentRuntimeId=runtime_id
            )
        except (ClientError, BotoCoreError) as exc:
            raise AgentError(f"AgentCore runtime {self.arn} cannot be read: {exc}") from exc
        if described.get("status") != "READY":
            raise AgentError(f"AgentCore runtime {self.arn} is {described.get('status')}")

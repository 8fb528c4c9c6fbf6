"""The slice of the Bedrock AgentCore data plane a call uses, served on loopback so the real
boto3 client (`bedrock-agentcore` invoke_agent_runtime, signed, over HTTP) can reach it:
`POST /runtimes/{agentRuntimeArn}/invocations?qualifier=...`, the session in the
`X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` header, JSON or SSE answers, and rest-json errors
(`x-amzn-ErrorType`). Tests switch `mode` to inject faults: a 5xx, throttling, or a hang."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
Mode = Literal["answer", "sse", "error", "throttle", "hang"]


@dataclass(frozen=True, slots=True)
class Invocation:
    at: float
    arn: str
    session_id: str
    qualifier: str
    prompt: str
    signed: bool


def _echo(prompt: str) -> str:
    return f"Our agent says: about {prompt!r}."


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


class AgentCoreEmulator:
    """Answers `invoke_agent_runtime`; records each invocation and when each error went out."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.mode: Mode = "answer"
        self.answer: Callable[[str], str] = _echo
        self.invocations: list[Invocation] = []
        self.errors_sent: list[float] = []
        self._release = asyncio.Event()
        app = Starlette(
            routes=[Route("/runtimes/{arn:path}/invocations", self._invoke, methods=["POST"])]
        )
        self._server = _Server(uvicorn.Config(app, host=host, log_level="warning", lifespan="off"))
        self._task: asyncio.Task[None] | None = None

    def reset(self) -> None:
        self.mode = "answer"
        self.answer = _echo

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        listener = socket.socket()
        listener.bind((self.host, 0))
        self.port = int(listener.getsockname()[1])
        self._task = asyncio.ensure_future(self._server.serve(sockets=[listener]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._release.set()  # hung invocations end now
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)

    async def _invoke(self, request: Request) -> Response:
        raw = await request.body()
        try:
            prompt = str(json.loads(raw).get("prompt", ""))
        except (ValueError, AttributeError):
            prompt = ""
        self.invocations.append(
            Invocation(
                time.monotonic(),
                request.path_params["arn"],
                request.headers.get(SESSION_HEADER, ""),
                request.query_params.get("qualifier", ""),
                prompt,
                request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"),
            )
        )
        match self.mode:
            case "error":
                return self._error(500, "InternalServerException", "the agent runtime crashed")
            case "throttle":
                return self._error(429, "ThrottlingException", "Rate exceeded")
            case "hang":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), 60)
                return self._error(504, "InternalServerException", "gave up")
            case "sse":
                text = self.answer(prompt)
                body = f"data: {json.dumps(text)}\n\ndata: {json.dumps({'text': text})}\n\n"
                return Response(body, media_type="text/event-stream")
        return JSONResponse({"text": self.answer(prompt), "sources": ["emulated.md#1"]})

    def _error(self, status: int, code: str, message: str) -> Response:
        self.errors_sent.append(time.monotonic())
        return JSONResponse(
            {"message": message}, status_code=status, headers={"x-amzn-ErrorType": code}
        )

"""The slice of Twilio's REST API a live call uses (`POST .../Calls/{CallSid}.json`), served on
loopback for simulated calls, so transfers and hang-ups run through the real `twilio` library."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from oratio_voice.simulator.twilio_call import SimulatedCall, TwilioAccount

log = logging.getLogger(__name__)
STOP_DELAY = 0.05  # Twilio answers the update, then stops the stream


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: Ctrl-C belongs to the simulator."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


def _error(status: int, code: int, message: str) -> JSONResponse:
    body = {"code": code, "message": message, "more_info": "", "status": status}
    return JSONResponse(body, status_code=status)


class TwilioRestEmulator:
    """Accepts call updates for the simulated calls registered with it; records every request."""

    def __init__(self, account: TwilioAccount, host: str = "127.0.0.1", port: int = 0) -> None:
        self.account = account
        self.host = host
        self.port = port
        self.calls: dict[str, SimulatedCall] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        path = "/2010-04-01/Accounts/{account}/Calls/{call}.json"
        app = Starlette(routes=[Route(path, self._update_call, methods=["POST"])])
        self._server = _Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def register(self, call: SimulatedCall) -> None:
        self.calls[call.report.call_sid] = call

    async def start(self) -> None:
        """Listen; OSError when the port is taken."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
        except OSError:
            listener.close()
            raise
        self.port = int(listener.getsockname()[1])
        self._task = asyncio.ensure_future(self._server.serve(sockets=[listener]))
        while not self._server.started:
            if self._task.done():
                raise OSError(f"the Twilio REST emulator could not listen on {self.url}")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
        for task in list(self._tasks):
            await task

    async def _update_call(self, request: Request) -> JSONResponse:
        account, call_sid = request.path_params["account"], request.path_params["call"]
        if not self._authorized(request, account):
            return _error(401, 20003, "Authenticate")
        fields = {key: str(value) for key, value in (await request.form()).items()}
        self.requests.append((call_sid, fields))
        call = self.calls.get(call_sid)
        if call is None or not call.live:
            return _error(404, 20404, f"The requested resource {request.url.path} was not found")
        task = asyncio.ensure_future(self._apply(call, fields))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse(self._resource(call, fields))

    async def _apply(self, call: SimulatedCall, fields: dict[str, str]) -> None:
        await asyncio.sleep(STOP_DELAY)
        await call.rest_update(fields)

    def _authorized(self, request: Request, account: str) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (
            scheme.lower() == "basic"
            and user == account == self.account.account_sid
            and password == self.account.auth_token
        )

    def _resource(self, call: SimulatedCall, fields: dict[str, str]) -> dict[str, Any]:
        status = "completed" if fields.get("Status") == "completed" else "in-progress"
        return {
            "sid": call.report.call_sid,
            "account_sid": self.account.account_sid,
            "to": call.report.number,
            "from": call.script.caller,
            "status": status,
            "api_version": "2010-04-01",
        }

"""The processor that puts a speech engine session in the pipeline and routes its tool calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.engines.base import (
    AgentAudio,
    AgentTranscript,
    CallerTranscript,
    EngineError,
    EngineSession,
    Interrupted,
    ToolUse,
    TurnEnd,
    Usage,
)
from pipeline.frames import (
    AgentTurnEndFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    HandoffRequestFrame,
    InputAudioFrame,
    InterruptionFrame,
    OutputAudioFrame,
    TextInputFrame,
    ToolCallFrame,
    TranscriptFrame,
    UsageFrame,
)
from pipeline.processor import FrameProcessor

log = logging.getLogger(__name__)

# A tool handler answers a tool call with a JSON-able dict. Keys that mean something to the
# pipeline: "handoff" (a reason: a person must take over), "fault" (true: that handoff is an AI
# fault, so it goes at once), "end_call" (true: hang up) and "error" (the call failed).
ToolHandler = Callable[[ToolCallFrame], Awaitable[dict[str, Any]]]

REPEATED_TOOL_FAILURES = "AI fault: repeated tool failures"
# Engines answer a malformed tool call themselves and report it as a recoverable error of this kind.
TOOL_ERROR_KINDS = frozenset({"tool_arguments"})


class EngineProcessor(FrameProcessor):
    """Caller audio and text go into the engine; its events come out as frames downstream."""

    def __init__(
        self,
        session: EngineSession,
        tools: ToolHandler,
        *,
        output_rate: int,
        tool_timeout: float = 10.0,
        max_tool_failures: int = 3,
    ) -> None:
        super().__init__()
        self.session = session
        self.tools = tools
        self.output_rate = output_rate
        self.tool_timeout = tool_timeout
        self.max_tool_failures = max_tool_failures
        self.tool_failures = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._fatal = False

    def process(self, frame: Frame) -> None:
        if type(frame) is InputAudioFrame:
            self.session.send_audio(frame.pcm)
        elif isinstance(frame, TextInputFrame):
            self._spawn(self.session.send_text(frame.text))
            return
        self.push(frame)

    async def run(self) -> None:
        """Pump engine events into the pipeline until the engine session ends; an end we did
        not ask for is a lost stream (fatal), or the caller would be left in silence."""
        async for event in self.session.events():
            match event:
                case AgentAudio(pcm=pcm):
                    self.push(OutputAudioFrame(pcm, self.output_rate))
                case CallerTranscript(text=text, final=final):
                    self.push(TranscriptFrame("caller", text, final))
                case AgentTranscript(text=text, final=final):
                    self.push(TranscriptFrame("agent", text, final))
                case ToolUse(tool_use_id=call_id, name=name, arguments=arguments):
                    self._spawn(self._call_tool(ToolCallFrame(call_id, name, arguments)))
                case Interrupted():
                    self.push(InterruptionFrame())
                case TurnEnd():
                    self.push(AgentTurnEndFrame())
                case Usage(input_tokens=tokens_in, output_tokens=tokens_out):
                    self.push(UsageFrame(tokens_in, tokens_out))
                case EngineError(kind=kind, message=message, recoverable=recoverable):
                    self._error(f"{kind}: {message}", fatal=not recoverable)
                    if recoverable and kind in TOOL_ERROR_KINDS and self._tool_failed():
                        self._fault(REPEATED_TOOL_FAILURES, kind)
        if not self._closing and not self._fatal:
            self._error("stream_lost: the speech engine ended the conversation", fatal=True)

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await self.session.close()

    async def _call_tool(self, call: ToolCallFrame) -> None:
        """Answer one tool call. A timeout (the agent is not answering), a fault result, or the
        call's Nth failed tool call hands the caller to a person at once; the engine still
        gets its answer, so it can say a word while the transfer goes through."""
        self.push(call)
        try:
            result = await asyncio.wait_for(self.tools(call), self.tool_timeout)
        except TimeoutError:
            result = {
                "error": f"tool {call.name} timed out",
                "handoff": f"AI fault: {call.name} timed out after {self.tool_timeout:g} s",
                "fault": True,
            }
        except Exception as exc:  # a broken tool must not break the call
            log.warning("tool %s failed: %s", call.name, exc)
            result = {"error": f"tool {call.name} failed"}
        fault = bool(result.pop("fault", False))
        if fault or "error" in result:
            over_limit = self._tool_failed()
            if over_limit and not fault:
                result = {**result, "handoff": REPEATED_TOOL_FAILURES}
                fault = True
        reason = result.get("handoff")
        if fault and reason:
            self._fault(str(reason), call.name)
        # Shielded: a handoff closing the engine must not cut a tool result content in half.
        sending = asyncio.ensure_future(self.session.send_tool_result(call.call_id, result))
        sending.add_done_callback(_retrieve)
        try:
            await asyncio.shield(sending)
        except Exception as exc:
            self._error(f"engine rejected a tool result: {exc}", fatal=True)
            return
        if reason and not fault:
            self.push(HandoffRequestFrame(str(reason), source=call.name))
        if result.get("end_call"):
            self.push(EndFrame("agent ended the call"))

    def _tool_failed(self) -> bool:
        """Count a failed tool call; True once the call has had too many."""
        self.tool_failures += 1
        return self.tool_failures >= self.max_tool_failures

    def _fault(self, reason: str, what: str) -> None:
        log.warning("AI fault (%s): %s", what, reason)
        self.push(HandoffRequestFrame(reason, source="fault"))

    def _error(self, message: str, *, fatal: bool) -> None:
        self._fatal = self._fatal or fatal
        self.push(ErrorFrame(message, fatal=fatal))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _retrieve(task: asyncio.Future[None]) -> None:
    """Mark a background send's failure as seen (the awaiting side may have been cancelled)."""
    if not task.cancelled():
        task.exception()

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

# A tool handler answers a tool call with a JSON-able dict. Two keys mean something to the
# pipeline: "handoff" (a reason: a person must take over) and "end_call" (true: hang up).
ToolHandler = Callable[[ToolCallFrame], Awaitable[dict[str, Any]]]


class EngineProcessor(FrameProcessor):
    """Caller audio and text go into the engine; its events come out as frames downstream."""

    def __init__(
        self,
        session: EngineSession,
        tools: ToolHandler,
        *,
        output_rate: int,
        tool_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.session = session
        self.tools = tools
        self.output_rate = output_rate
        self.tool_timeout = tool_timeout
        self._tasks: set[asyncio.Task[None]] = set()

    def process(self, frame: Frame) -> None:
        if type(frame) is InputAudioFrame:
            self.session.send_audio(frame.pcm)
        elif isinstance(frame, TextInputFrame):
            self._spawn(self.session.send_text(frame.text))
            return
        self.push(frame)

    async def run(self) -> None:
        """Pump engine events into the pipeline until the engine session ends."""
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
                    self.push(ErrorFrame(f"{kind}: {message}", fatal=not recoverable))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.session.close()

    async def _call_tool(self, call: ToolCallFrame) -> None:
        self.push(call)
        try:
            result = await asyncio.wait_for(self.tools(call), self.tool_timeout)
        except TimeoutError:
            result = {"error": f"tool {call.name} timed out"}
        except Exception as exc:  # a broken tool must not break the call
            log.warning("tool %s failed: %s", call.name, exc)
            result = {"error": f"tool {call.name} failed"}
        try:
            await self.session.send_tool_result(call.call_id, result)
        except Exception as exc:
            self.push(ErrorFrame(f"engine rejected a tool result: {exc}", fatal=True))
            return
        if reason := result.get("handoff"):
            self.push(HandoffRequestFrame(str(reason), source=call.name))
        if result.get("end_call"):
            self.push(EndFrame("agent ended the call"))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

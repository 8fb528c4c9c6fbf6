"""A live call: connector frames through the pipeline to the speech engine; turns to the agent;
every finished turn into the store as it happens; handoff when anything says so."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from connectors.base import CallConnector
from oratio_voice.agents.base import AgentClient, AgentError
from oratio_voice.events import SESSION_ENDED, SESSION_STARTED, SESSION_TURN, Event, EventBus
from oratio_voice.handoff_rules import opening_reason, turn_reason
from oratio_voice.models import Agent, CallSession, SessionStatus, Turn, now
from oratio_voice.store.base import BlobStore, TenantStore
from pipeline.engine_processor import EngineProcessor
from pipeline.engines.base import EngineConfig, HistoryTurn, SpeechEngine, ToolSpec
from pipeline.frames import (
    DTMFFrame,
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
from pipeline.processor import FrameProcessor, Pipeline
from pipeline.processors import AudioResampler
from pipeline.recorder import CallRecorder

log = logging.getLogger(__name__)

TOOLS = (
    ToolSpec(
        "ask_agent",
        "Ask the business's agent, which knows its procedures, what to answer the caller.",
        {
            "type": "object",
            "properties": {"question": {"type": "string"}},
            "required": ["question"],
        },
    ),
    ToolSpec(
        "transfer_to_human",
        "Transfer the caller to a person in the human queue.",
        {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
    ),
    ToolSpec("end_call", "End the call after saying goodbye.", {"type": "object"}),
)

Handoff = Callable[["Call", str, str], Awaitable[None]]


class CallObserver(FrameProcessor):
    """The tail of a call's pipeline: turns frames into the call's bookkeeping."""

    def __init__(self, call: Call) -> None:
        super().__init__()
        self.call = call

    def process(self, frame: Frame) -> None:
        call = self.call
        kind = type(frame)
        if kind is InputAudioFrame:  # the hot path: nothing to book
            pass
        elif kind is OutputAudioFrame:
            frame = cast(OutputAudioFrame, frame)
            moment = time.monotonic()
            call.speaking_until = max(call.speaking_until, moment) + frame.duration_ms / 1000
        elif isinstance(frame, TranscriptFrame):
            if frame.final and frame.text:
                call.record_turn(frame.role, frame.text)
        elif isinstance(frame, InterruptionFrame):
            call.speaking_until = 0.0
            call.mark_interrupted()
        elif isinstance(frame, HandoffRequestFrame):
            call.request_handoff(frame.reason, frame.source)
        elif isinstance(frame, DTMFFrame):
            action = call.agent.config.handoff.dtmf.get(frame.digit)
            if action == "transfer":
                call.request_handoff(f"caller pressed {frame.digit}", "dtmf")
        elif isinstance(frame, ErrorFrame) and frame.fatal:
            call.request_handoff(f"AI fault: {frame.message}", "fault")
        elif isinstance(frame, UsageFrame):
            call.record.input_tokens += frame.input_tokens
            call.record.output_tokens += frame.output_tokens
        elif isinstance(frame, EndFrame):
            call.spawn(call.end(frame.reason))
        self.push(frame)


class Call:
    """One live call, owned by this process while it lasts."""

    def __init__(
        self,
        *,
        record: CallSession,
        agent: Agent,
        store: TenantStore,
        events: EventBus,
        agent_client: AgentClient,
        engine: SpeechEngine,
        handoff: Handoff,
        wire_in_rate: int,
        wire_out_rate: int,
        engine_rate: int = 16000,
        blobs: BlobStore | None = None,
        recording_dir: Path | None = None,
        agent_timeout: float = 10.0,
        max_tool_failures: int = 3,
    ) -> None:
        self.record = record
        self.agent = agent
        self.store = store
        self.events = events
        self.agent_client = agent_client
        self.engine = engine
        self._handoff = handoff
        self.wire_in_rate = wire_in_rate
        self.wire_out_rate = wire_out_rate
        self.engine_rate = engine_rate
        self.agent_timeout = agent_timeout
        self.max_tool_failures = max_tool_failures
        self.blobs = blobs
        self.recorder: CallRecorder | None = None
        if blobs is not None and recording_dir is not None and agent.config.record_calls:
            recording_dir.mkdir(parents=True, exist_ok=True)
            self.recorder = CallRecorder(recording_dir / f"{record.id}.wav", engine_rate)
        self.resume_token = secrets.token_urlsafe(24)
        self.connector: CallConnector | None = None
        self.speaking_until = 0.0
        self.handoff_reason = ""
        self.handed_over = False  # the AI has left; a person in the console may take the call
        self.operator = ""  # who in the console took it over
        self.turns: list[Turn] = []
        self._last_sources: list[str] = []
        self.ended = asyncio.Event()
        self._outbox: asyncio.Queue[Callable[[], Awaitable[Any]] | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._engine: EngineProcessor | None = None
        self._pipeline = Pipeline([])
        self._writer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writer.set_result(None)
        self.ended_callback: Callable[[Call], None] | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def live(self) -> bool:
        return not self.ended.is_set()

    async def start(self, connector: CallConnector) -> None:
        """Persist the session, open the engine and start pumping frames."""
        self.connector = connector
        await self.store.put_session(self.record)
        self._writer = asyncio.ensure_future(self._write_outbox())
        await self._publish(SESSION_STARTED, self._summary_data())
        if reason := opening_reason(self.agent, now()):
            self.request_handoff(reason, "rules")
            return
        try:
            session = await self.engine.open(self._engine_config())
        except Exception as exc:
            log.warning("engine failed to open for %s: %s", self.id, exc)
            self.request_handoff(f"AI fault: speech engine unavailable ({exc})", "fault")
            return
        self._engine = EngineProcessor(
            session,
            self._call_tool,
            output_rate=self.engine_rate,
            tool_timeout=self.agent_timeout,
            max_tool_failures=self.max_tool_failures,
        )
        processors: list[FrameProcessor] = []
        if self.wire_in_rate != self.engine_rate:
            processors.append(AudioResampler(self.engine_rate, InputAudioFrame))
        processors.append(self._engine)
        if self.recorder is not None:
            processors.append(self.recorder)
        if self.wire_out_rate != self.engine_rate:
            processors.append(AudioResampler(self.wire_out_rate, OutputAudioFrame))
        processors.append(CallObserver(self))
        self._pipeline = Pipeline(processors, sink=self._deliver)
        self.spawn(self._pump_engine(self._engine))

    def push(self, frame: Frame) -> None:
        """A frame from the caller's side (audio, typed text, DTMF, end). Once the AI has
        handed the call over, typed text is a caller turn for the person in the console."""
        if not self.live:
            return
        if self.handed_over and isinstance(frame, TextInputFrame):
            self.record_turn("caller", frame.text)
        else:
            self._pipeline.push(frame)

    def attach(self, connector: CallConnector) -> None:
        self.connector = connector

    def detach(self) -> None:
        self.connector = None

    def _deliver(self, frame: Frame) -> None:
        if self.connector is not None and type(frame) is not InputAudioFrame:
            self.connector.send(frame)

    async def _pump_engine(self, engine: EngineProcessor) -> None:
        try:
            await engine.run()
        except Exception as exc:
            log.warning("engine stream of %s failed: %s", self.id, exc)
            self._pipeline.push(ErrorFrame(f"engine stream lost: {exc}", fatal=True))

    async def _call_tool(self, call: ToolCallFrame) -> dict[str, Any]:
        if call.name == "ask_agent":
            question = str(call.arguments.get("question", "")).strip()
            if not question:
                return {"error": "ask_agent needs a question"}
            try:
                reply = await self.agent_client.invoke(self.id, question)
            except AgentError as exc:
                return {
                    "answer": self.agent.config.handoff.hand_over_line,
                    "handoff": f"AI fault: agent runtime failed ({exc})",
                    "fault": True,
                }
            self._last_sources = reply.sources
            result: dict[str, Any] = {"answer": reply.text, "sources": reply.sources}
            if reply.handoff:
                result["handoff"] = reply.handoff
            return result
        if call.name == "transfer_to_human":
            return {"status": "transferring", "handoff": call.arguments.get("reason") or "asked"}
        if call.name == "end_call":
            return {"status": "ending", "end_call": True}
        return {"error": f"unknown tool {call.name}"}

    # bookkeeping ---------------------------------------------------------------------

    def record_turn(self, role: str, text: str) -> None:
        sources = self._last_sources if role == "agent" else []
        self._last_sources = []
        turn = Turn(
            tenant_id=self.record.tenant_id,
            session_id=self.id,
            seq=len(self.turns),
            role=role,
            text=text,
            sources=sources,
        )
        self.turns.append(turn)
        self._queue(self.store.add_turn, turn)
        self._queue(self._publish, SESSION_TURN, {"session_id": self.id, **_turn_data(turn)})
        if role == "caller" and (reason := turn_reason(self.agent, self.turns)):
            self.request_handoff(reason, "rules")

    def mark_interrupted(self) -> None:
        for index in range(len(self.turns) - 1, -1, -1):
            if self.turns[index].role == "agent":
                self.turns[index] = self.turns[index].model_copy(update={"interrupted": True})
                self._queue(self.store.add_turn, self.turns[index])
                return

    def request_handoff(self, reason: str, source: str) -> None:
        if self.handoff_reason or not self.live:
            return
        self.handoff_reason = reason
        self.spawn(self._handoff(self, reason, source))

    def history(self) -> tuple[HistoryTurn, ...]:
        return tuple(
            HistoryTurn(t.role, t.text) for t in self.turns if t.role in ("caller", "agent")
        )

    async def stop_ai(self) -> None:
        """The AI leaves the call (after a handoff); the caller's connection stays."""
        self._pipeline = Pipeline([])
        self.handed_over = True
        if self._engine is not None:
            with contextlib.suppress(Exception):
                await self._engine.close()

    async def end(self, reason: str, status: SessionStatus | None = None) -> None:
        """Close the engine and the session record; idempotent."""
        if self.ended.is_set():
            return
        self.ended.set()
        await self.stop_ai()
        await self._save_recording()
        self.record.status = status or ("handoff" if self.handoff_reason else "ended")
        self.record.ended_at = now()
        self.record.end_reason = reason
        self._queue(self.store.put_session, self.record)
        self._queue(self._publish, SESSION_ENDED, self._summary_data())
        self._outbox.put_nowait(None)
        await asyncio.gather(self._writer, return_exceptions=True)
        if self.connector is not None:
            with contextlib.suppress(Exception):
                await self.connector.hangup(reason)
        if self.ended_callback is not None:
            self.ended_callback(self)
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in self._tasks if t is not current), return_exceptions=True)

    async def _save_recording(self) -> None:
        if self.recorder is None or self.blobs is None:
            return
        path = self.recorder.close()
        key = f"{self.record.tenant_id}/recordings/{self.id}.wav"
        try:
            await self.blobs.put(key, await asyncio.to_thread(path.read_bytes))
            self.record.recording_key = key
        except Exception:
            log.exception("call %s: recording not saved", self.id)
        finally:
            path.unlink(missing_ok=True)

    async def save(self) -> None:
        """Persist the session record now (status changes during the call)."""
        await self.store.put_session(self.record)

    # plumbing ------------------------------------------------------------------------

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _queue(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        self._outbox.put_nowait(lambda: func(*args))

    async def _write_outbox(self) -> None:
        """Store writes and events leave the hot path through this one queue, in order."""
        while (job := await self._outbox.get()) is not None:
            try:
                await job()
            except Exception:
                log.exception("call %s: bookkeeping write failed", self.id)

    async def _publish(self, kind: str, data: dict[str, Any]) -> None:
        await self.events.publish(Event(kind, self.record.tenant_id, data))

    def _summary_data(self) -> dict[str, Any]:
        r = self.record
        return {
            "session_id": r.id,
            "agent_id": r.agent_id,
            "channel": r.channel,
            "status": r.status,
            "caller": r.caller,
            "started_at": r.started_at.isoformat(),
            "handoff_reason": r.handoff_reason,
        }

    def _engine_config(self) -> EngineConfig:
        config = self.agent.config
        return EngineConfig(
            system_prompt=system_prompt(self.agent),
            voice=config.voice,
            language=config.language,
            input_rate=self.engine_rate,
            output_rate=self.engine_rate,
            tools=TOOLS,
            history=self.history(),
            endpointing=config.endpointing,
            greeting="" if self.turns else config.greeting,
        )


def _turn_data(turn: Turn) -> dict[str, Any]:
    return {"role": turn.role, "text": turn.text, "seq": turn.seq, "at": turn.at.isoformat()}


def system_prompt(agent: Agent) -> str:
    return (
        f"You are the voice assistant of {agent.name}. Speak briefly and warmly. For any "
        "question about the business, call ask_agent and say its answer. If the caller asks "
        "for a person, or ask_agent says so, call transfer_to_human. Never invent policies."
    )

"""A call's conversation with Nova Sonic, carried across as many streams as the call needs.

One conductor task owns the caller's audio: it sends it, and it alone switches streams (planned
continuation before the ~8 minute limit) or replaces a broken one, so no audio frame can slip
between two streams. Each stream has a reader task turning model events into engine events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from pipeline.engines import nova_protocol as proto
from pipeline.engines.base import (
    AgentTranscript,
    CallerTranscript,
    EngineConfig,
    EngineError,
    EngineEvent,
    HistoryTurn,
    Interrupted,
    ToolUse,
    Usage,
)
from pipeline.engines.nova_buffers import CallerAudio, Conversation, EventQueue
from pipeline.engines.nova_link import AssistantSpeaks, BadToolUse, StreamLink
from pipeline.engines.nova_protocol import MalformedEvent, NovaStreamError, NovaTransport
from pipeline.engines.nova_streams import StreamOpener
from pipeline.engines.nova_tuning import Clock, MonotonicClock, NovaTuning

log = logging.getLogger(__name__)


class NovaSonicSession:
    """One call's EngineSession over Nova Sonic bidirectional streams."""

    def __init__(
        self,
        config: EngineConfig,
        transport: NovaTransport,
        tuning: NovaTuning | None = None,
        clock: Clock | None = None,
        nova2: bool = True,
    ) -> None:
        proto.check_rate(config.input_rate, "input")
        proto.check_rate(config.output_rate, "output")
        if config.endpointing not in proto.ENDPOINTING:
            raise ValueError(f"endpointing must be HIGH, MEDIUM or LOW, not {config.endpointing}")
        self.config = config
        self.nova2 = nova2  # turn detection and cross-modal text input are Nova 2 features
        self.tuning = tuning or NovaTuning()
        self._clock = clock or MonotonicClock()
        self._audio = CallerAudio(config.input_rate, self.tuning)
        self._wake = asyncio.Event()
        self._events = EventQueue()
        self._conversation = Conversation(config.history, self.tuning)
        self._current: StreamLink | None = None
        self._next: StreamLink | None = None
        self._preopen: asyncio.Task[None] | None = None
        self._preopen_after = 0.0
        self._failure: NovaStreamError | None = None
        self._live = asyncio.Event()
        self._tool_links: dict[str, StreamLink] = {}
        self._recovery_times: deque[float] = deque()
        self._streams = StreamOpener(
            transport, config, self.tuning, self._clock, self._on_output, self._link_failed, nova2
        )
        self._conductor: asyncio.Task[None] | None = None
        self._closed = False
        self._dead = False
        self.switches = 0
        self.recoveries = 0

    @property
    def history(self) -> tuple[HistoryTurn, ...]:
        """The conversation so far, as it would be replayed into a fresh stream."""
        return tuple(self._conversation.turns)

    @property
    def audio_bytes_in(self) -> int:
        return self._audio.bytes_in

    @property
    def audio_bytes_dropped(self) -> int:
        """Caller audio lost because the queue overflowed while no stream could take it."""
        return self._audio.bytes_dropped

    @property
    def audio_bytes_queued(self) -> int:
        return len(self._audio.pending)

    async def start(self) -> None:
        """Open the first stream; raises NovaStreamError when Nova Sonic cannot be reached."""
        link = await self._streams.open_with_retries()
        self._current = link
        try:
            await link.start_audio(self._conversation.replay(), self.config.input_rate, ())
            if self.config.greeting and self.nova2:
                await link.send_text(
                    f"(The call has just connected. Greet the caller with: {self.config.greeting})"
                )
        except (NovaStreamError, asyncio.CancelledError):
            self._current = None
            await self._streams.retire(link, graceful=False)
            raise
        self._failure = link.failure
        self._live.set()
        self._conductor = asyncio.ensure_future(self._conduct())

    # EngineSession -------------------------------------------------------------------

    def send_audio(self, pcm: bytes) -> None:
        if pcm and not self._closed and not self._dead and self._audio.push(pcm):
            self._wake.set()

    async def send_text(self, text: str) -> None:
        if self._closed or self._dead:
            return
        if not self.nova2:
            log.warning("typed caller text needs Nova 2 Sonic; ignored")
            return
        self._conversation.add("caller", text)
        await self._live.wait()
        link = self._current
        if link is None or self._closed:
            return
        try:
            await link.send_text(text)
        except NovaStreamError as exc:
            self._link_failed(link, exc)

    async def send_tool_result(self, tool_use_id: str, result: dict[str, Any]) -> None:
        link = self._tool_links.pop(tool_use_id, None)
        if link is None:
            log.warning("result for unknown tool call %s ignored", tool_use_id)
            return
        link.pending_tools.discard(tool_use_id)
        self._wake.set()
        if link is not self._current or not link.audio_open:
            log.warning("tool call %s was on a stream that is gone; result dropped", tool_use_id)
            return
        await self._answer(link, tool_use_id, result)

    def events(self) -> AsyncIterator[EngineEvent]:
        return self._events.drain()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._live.set()
        for task in (self._conductor, self._preopen):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        current, upcoming = self._current, self._next
        self._current = self._next = None
        if current is not None and current.audio_open:
            with contextlib.suppress(NovaStreamError, TimeoutError):
                async with asyncio.timeout(self.tuning.close_timeout_seconds):
                    for chunk in self._audio.drain():
                        await current.send_audio(chunk)
        await asyncio.gather(
            *(self._streams.retire(link) for link in (current, upcoming) if link is not None),
            return_exceptions=True,
        )
        self._streams.cancel_all()
        self._emit(None)

    # The conductor: caller audio, planned switches, recovery -------------------------

    async def _conduct(self) -> None:
        try:
            await self._conduct_audio()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug here must hand the call over, not strand the caller
            log.exception("Nova session conductor failed")
            self._give_up("internal", repr(exc))

    async def _conduct_audio(self) -> None:
        while not self._closed:
            if self._failure is not None:
                await self._recover()
                if self._dead:
                    return
                continue
            link = self._current
            assert link is not None
            age = self._clock.now() - link.opened_at
            self._maybe_preopen(link, age)
            if self._next is not None and self._switch_due(link, age):
                await self._switch(link, self._next)
                continue
            if not self._audio.ready:
                self._wake.clear()
                await self._wake.wait()
                continue
            chunk = self._audio.take()
            try:
                await link.send_audio(chunk)
            except NovaStreamError as exc:
                self._link_failed(link, exc)

    def _switch_due(self, link: StreamLink, age: float) -> bool:
        """At a turn boundary; or late in the stream's life, unless a tool answer is due on it."""
        if link.idle or age >= self.tuning.hard_force_at:
            return True
        return age >= self.tuning.force_at and not link.pending_tools

    def _maybe_preopen(self, link: StreamLink, age: float, assistant_speaks: bool = False) -> None:
        now = self._clock.now()
        upcoming = self._next
        if upcoming is not None:
            idle_for = now - upcoming.opened_at
            if idle_for > self.tuning.next_stream_max_idle_seconds and age < self.tuning.force_at:
                log.info("pre-opened stream %d idle %.0fs; dropped", upcoming.number, idle_for)
                self._next = None
                self._streams.retire_soon(upcoming)
            return
        if self._preopen is not None or self._closed or now < self._preopen_after:
            return
        due = age >= self.tuning.preopen_at
        if due or (assistant_speaks and age >= self.tuning.switch_after_seconds):
            self._preopen = asyncio.ensure_future(self._open_next(link))

    async def _open_next(self, base: StreamLink) -> None:
        try:
            link = await self._streams.open_with_retries()
        except NovaStreamError as exc:
            log.warning("could not pre-open the next Nova stream: %s", exc)
            self._preopen_after = self._clock.now() + self.tuning.preopen_backoff_seconds
            return
        finally:
            self._preopen = None
        if base is not self._current or self._closed or link.failure is not None:
            self._streams.retire_soon(link, graceful=False)
            return
        self._next = link
        self._wake.set()

    async def _switch(self, old: StreamLink, new: StreamLink) -> None:
        """Continue the conversation on `new`: history, then the last seconds of caller audio."""
        self._next = None
        if not await self._take_over(new):
            self._preopen_after = self._clock.now() + self.tuning.preopen_backoff_seconds
            return
        self.switches += 1
        log.info(
            "call continued on stream %d after %.0fs on stream %d",
            new.number,
            self._clock.now() - old.opened_at,
            old.number,
        )
        self._streams.retire_soon(old)

    async def _take_over(self, link: StreamLink) -> bool:
        """Prime `link` with the conversation and recent caller audio and make it current."""
        try:
            await link.start_audio(
                self._conversation.replay(), self.config.input_rate, self._audio.recent()
            )
        except NovaStreamError as exc:
            log.warning("Nova stream %d failed while taking over: %s", link.number, exc)
            self._streams.retire_soon(link, graceful=False)
            return False
        except asyncio.CancelledError:
            await link.abort()
            raise
        previous, self._current = self._current, link
        if previous is not None:
            previous.retired = True
        if link.failure is not None:  # its reader failed while we were priming it
            self._failure = link.failure
        return True

    async def _recover(self) -> None:
        """The current stream broke: carry the call on to a fresh stream, or give up."""
        failure, broken = self._failure, self._current
        assert failure is not None and broken is not None
        self._failure = None
        self._live.clear()
        self._streams.retire_soon(broken, graceful=False)
        now = self._clock.now()
        window = self.tuning.recovery_window_seconds
        while self._recovery_times and now - self._recovery_times[0] > window:
            self._recovery_times.popleft()
        if not failure.retryable:
            self._give_up(failure.kind, failure.message)
            return
        if len(self._recovery_times) >= self.tuning.max_recoveries:  # a storm, not a blip
            self._give_up(failure.kind, f"stream failed repeatedly, last: {failure.message}")
            return
        self._recovery_times.append(now)
        self._emit(
            EngineError(failure.kind, f"{failure.message}; continuing on a fresh stream", True)
        )
        link, self._next = self._next, None
        try:
            if link is None:
                link = await self._streams.open_with_retries()
        except NovaStreamError as exc:
            self._give_up(exc.kind, f"could not continue the call: {exc.message}")
            return
        if not await self._take_over(link):
            self._give_up("stream_lost", "could not continue the call on a fresh stream")
            return
        self.recoveries += 1
        self._live.set()

    def _give_up(self, kind: str, message: str) -> None:
        """Nothing more this session can do: the call must go to a person."""
        self._dead = True
        self._current = None
        self._live.set()
        self._emit(EngineError(kind, message, recoverable=False))
        self._emit(None)
        upcoming, self._next = self._next, None
        if upcoming is not None:
            self._streams.retire_soon(upcoming)

    # Streams -----------------------------------------------------------------------

    def _link_failed(self, link: StreamLink, failure: NovaStreamError) -> None:
        if link.failure is None:
            link.failure = failure
        if self._closed or self._dead or link.retired:
            return
        if link is self._current:
            if self._failure is None:
                log.warning("Nova stream %d failed: %s", link.number, failure)
                self._failure = failure
                self._wake.set()
        elif link is self._next:
            log.warning("pre-opened Nova stream %d failed: %s", link.number, failure)
            self._next = None
            self._streams.retire_soon(link, graceful=False)
        # Otherwise the stream is still being set up; whoever promotes it checks link.failure.

    # Model output ------------------------------------------------------------------

    def _on_output(self, link: StreamLink, raw: bytes) -> None:
        try:
            outputs = link.interpret(raw)
        except MalformedEvent as exc:
            if not link.retired:
                self._emit(EngineError("malformed_event", str(exc), recoverable=True))
            return
        if link.retired:  # a stream we switched away from: only its token counts still matter
            for output in outputs:
                if isinstance(output, Usage):
                    self._emit(output)
            return
        for output in outputs:
            if isinstance(output, AssistantSpeaks):
                self._maybe_preopen(link, self._clock.now() - link.opened_at, True)
            elif isinstance(output, BadToolUse):
                self._emit(EngineError("tool_arguments", f"{output.name}: {output.error}", True))
                self._streams.spawn(self._answer(link, output.tool_use_id, {"error": output.error}))
            elif isinstance(output, ToolUse):
                self._tool_links[output.tool_use_id] = link
                self._emit(output)
            elif isinstance(output, Interrupted):
                self._events.drop_audio()
                self._emit(output)
            else:
                if isinstance(output, CallerTranscript) and output.final:
                    self._conversation.add("caller", output.text)
                elif isinstance(output, AgentTranscript) and output.final:
                    self._conversation.add("agent", output.text)
                self._emit(output)
        self._wake.set()

    async def _answer(self, link: StreamLink, tool_use_id: str, result: dict[str, Any]) -> None:
        try:
            await link.send_tool_result(tool_use_id, result)
        except NovaStreamError as exc:
            self._link_failed(link, exc)

    def _emit(self, event: EngineEvent | None) -> None:
        self._events.put(event)

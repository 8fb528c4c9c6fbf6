"""The offline speech engine: VAD, pocketsphinx ASR, the agent as a tool call, espeak-ng TTS."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from contextlib import aclosing, suppress
from typing import Any

from pipeline.engines import tts
from pipeline.engines.asr import ASR_RATE, DecoderPool, RecognitionError, Recognizer
from pipeline.engines.base import (
    AgentAudio,
    AgentTranscript,
    CallerTranscript,
    EngineConfig,
    EngineError,
    EngineEvent,
    Interrupted,
    ToolUse,
    TurnEnd,
)
from pipeline.engines.domain_lm import DomainLM
from pipeline.engines.vad import END_SILENCE_MS, SpeechStarted, UtteranceSegmenter
from pipeline.resampler import StreamResampler

log = logging.getLogger(__name__)

INPUT_RATES = (8000, 16000, 24000)
AGENT_TOOL = "ask_agent"
FALLBACK_ANSWER = "Sorry, I could not get an answer to that. Could you say it again?"


class LocalEngineUnavailable(RuntimeError):
    """The bundled models or libraries of the local engine cannot be loaded."""


class PlaybackClock:
    """When the audio emitted so far finishes playing, assuming playback starts on emission."""

    def __init__(self) -> None:
        self._ends_at = 0.0

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def emitted(self, seconds: float) -> None:
        self._ends_at = max(self._ends_at, self.now()) + seconds

    def ahead(self) -> float:
        """Seconds of emitted audio not yet played."""
        return max(0.0, self._ends_at - self.now())

    def stop(self) -> None:
        self._ends_at = 0.0


class LocalSession:
    """One call: caller audio -> utterances -> transcript -> ask_agent -> spoken answer."""

    _ids = itertools.count(1)

    def __init__(
        self,
        config: EngineConfig,
        recognizer: Recognizer,
        *,
        chunk_ms: int = 40,
        lead_s: float = 1.0,
        tool_timeout: float = 30.0,
    ) -> None:
        if config.input_rate not in INPUT_RATES:
            raise ValueError(f"input_rate must be one of {INPUT_RATES}, got {config.input_rate}")
        self.config = config
        self.recognizer = recognizer
        self.chunk_ms = chunk_ms
        self.lead_s = lead_s  # how far emitted audio may run ahead of playback
        self.tool_timeout = tool_timeout
        self._asks_agent = any(tool.name == AGENT_TOOL for tool in config.tools)
        self._resampler = (
            StreamResampler(config.input_rate, ASR_RATE) if config.input_rate != ASR_RATE else None
        )
        self._vad = UtteranceSegmenter(end_silence_ms=END_SILENCE_MS[config.endpointing])
        self._inbox: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._turns: asyncio.Queue[bytes | str] = asyncio.Queue()
        self._events: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._results: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._clock = PlaybackClock()
        self._speaking = False
        self._barged_in = asyncio.Event()
        self._closed = False
        self._tasks = [
            self._guard(self._listen(), "listener"),
            self._guard(self._converse(), "conversation"),
        ]

    # the EngineSession seam ------------------------------------------------------------

    def send_audio(self, pcm: bytes) -> None:
        if not self._closed:
            self._inbox.append(pcm)
            self._wake.set()

    async def send_text(self, text: str) -> None:
        if not self._closed and text.strip():
            self._turns.put_nowait(text.strip())

    async def send_tool_result(self, tool_use_id: str, result: dict[str, Any]) -> None:
        future = self._results.pop(tool_use_id, None)
        if future is None:  # late (timed out) or unknown: nothing waits for it any more
            log.warning("ignoring result for unknown tool use %s", tool_use_id)
        elif not future.done():
            future.set_result(result)

    async def events(self) -> AsyncIterator[EngineEvent]:
        while not (self._closed and self._events.empty()):
            if (event := await self._events.get()) is None:
                return
            yield event

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._events.put_nowait(None)
        for future in self._results.values():
            future.cancel()
        self._results.clear()
        others = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # listening -------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            pcm = b"".join(self._inbox)
            self._inbox.clear()
            if self._resampler is not None:
                pcm = self._resampler.process(pcm)
            for event in self._vad.feed(pcm):
                if isinstance(event, SpeechStarted):
                    self._caller_started()
                else:
                    self._turns.put_nowait(event.pcm)

    def _caller_started(self) -> None:
        """Barge-in: the caller talks while agent audio is still playing."""
        if self._clock.ahead() > 0 or self._speaking:
            self._barged_in.set()
            self._clock.stop()
            self._emit(Interrupted())

    # the conversation ------------------------------------------------------------------

    async def _converse(self) -> None:
        if self.config.greeting.strip():
            await self._speak(self.config.greeting.strip())
        while True:
            item = await self._turns.get()
            text = item if isinstance(item, str) else await self._recognize(item)
            if not text:
                continue
            self._emit(CallerTranscript(text, final=True))
            if not self._asks_agent:
                continue
            answer = await self._ask_agent(text)
            if answer:
                await self._speak(answer)

    async def _recognize(self, pcm: bytes) -> str:
        try:
            return await self.recognizer.transcribe(pcm)
        except RecognitionError as exc:
            self._emit(EngineError("asr", str(exc), recoverable=True))
            return ""

    async def _ask_agent(self, question: str) -> str:
        tool_use_id = f"local-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._results[tool_use_id] = future
        self._emit(ToolUse(tool_use_id, AGENT_TOOL, {"question": question}))
        try:
            result = await asyncio.wait_for(future, self.tool_timeout)
        except TimeoutError:
            self._results.pop(tool_use_id, None)
            self._emit(EngineError("tool_timeout", f"no {AGENT_TOOL} result", recoverable=True))
            return FALLBACK_ANSWER
        answer = result.get("answer")
        return str(answer).strip() if answer else FALLBACK_ANSWER

    async def _speak(self, text: str) -> None:
        """Transcript, then audio paced `lead_s` ahead of playback, then TurnEnd (unless cut)."""
        self._barged_in.clear()
        self._speaking = True
        self._emit(AgentTranscript(text, final=True))
        rate = self.config.output_rate
        try:
            async with aclosing(tts.stream(text, rate, self.config.voice, self.chunk_ms)) as audio:
                async for chunk in audio:
                    if await self._barge_in_before(self._clock.ahead() - self.lead_s):
                        return
                    self._emit(AgentAudio(chunk))
                    self._clock.emitted(len(chunk) / 2 / rate)
        except tts.SynthesisError as exc:
            self._emit(EngineError("tts", str(exc), recoverable=True))
            return
        finally:
            self._speaking = False
        if not self._barged_in.is_set():
            self._emit(TurnEnd())

    async def _barge_in_before(self, seconds: float) -> bool:
        """Wait `seconds` (pacing); True as soon as the caller barges in."""
        if seconds > 0 and not self._barged_in.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._barged_in.wait(), seconds)
        return self._barged_in.is_set()

    # plumbing --------------------------------------------------------------------------

    def _emit(self, event: EngineEvent) -> None:
        if not self._closed:
            self._events.put_nowait(event)

    def _guard(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("local engine %s failed", name)
                self._emit(EngineError("internal", f"{name}: {exc}", recoverable=False))
                await self.close()

        return asyncio.get_running_loop().create_task(run(), name=f"local-engine-{name}")


class LocalSpeechEngine:
    """Offline engine from PyPI packages with bundled weights; decoders are shared by calls."""

    name = "local"

    def __init__(
        self,
        *,
        decoders: int = 2,
        chunk_ms: int = 40,
        lead_s: float = 1.0,
        domain_bias: bool = True,
    ) -> None:
        self._pool = DecoderPool(decoders)
        self.chunk_ms = chunk_ms
        self.lead_s = lead_s
        self.domain_bias = domain_bias  # re-rank ASR hypotheses with the system prompt's words
        self._ready = False

    async def open(self, config: EngineConfig) -> LocalSession:
        if not self._ready:
            await self.check()
        domain = (
            await asyncio.to_thread(DomainLM.from_text, config.system_prompt)
            if self.domain_bias
            else None
        )
        return LocalSession(
            config, Recognizer(self._pool, domain), chunk_ms=self.chunk_ms, lead_s=self.lead_s
        )

    async def check(self) -> None:
        """Load a decoder and speak a word; raise LocalEngineUnavailable naming what failed."""
        try:
            await asyncio.to_thread(self._pool.warm)
            await asyncio.to_thread(tts.check)
        except (RecognitionError, tts.SynthesisError) as exc:
            raise LocalEngineUnavailable(
                f"local speech engine unavailable: {exc} (install the 'local' extra)"
            ) from exc
        self._ready = True

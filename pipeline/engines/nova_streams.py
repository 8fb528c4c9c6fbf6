"""Opening and ending the Nova Sonic streams of a call, each with its reader task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from pipeline.engines.base import EngineConfig
from pipeline.engines.nova_link import StreamLink
from pipeline.engines.nova_protocol import NovaStreamError, NovaTransport
from pipeline.engines.nova_tuning import Clock, NovaTuning

log = logging.getLogger(__name__)

OutputHandler = Callable[[StreamLink, bytes], None]
FailureHandler = Callable[[StreamLink, NovaStreamError], None]


class StreamOpener:
    """Opens set-up streams (sessionStart, promptStart, SYSTEM) with retries, reads each one
    into `on_output` until it fails or ends (`on_failure`), and retires them."""

    def __init__(
        self,
        transport: NovaTransport,
        config: EngineConfig,
        tuning: NovaTuning,
        clock: Clock,
        on_output: OutputHandler,
        on_failure: FailureHandler,
        nova2: bool = True,
    ) -> None:
        self._transport = transport
        self._config = config
        self._tuning = tuning
        self._clock = clock
        self._on_output = on_output
        self._on_failure = on_failure
        self._nova2 = nova2
        self._tasks: set[asyncio.Task[Any]] = set()
        self.opened = 0

    async def open_with_retries(self) -> StreamLink:
        delays = self._tuning.retry_delays
        for attempt in range(len(delays) + 1):
            try:
                return await self.open()
            except NovaStreamError as exc:
                if not exc.retryable or attempt == len(delays):
                    raise
                log.info("opening a Nova stream failed (%s); retrying", exc)
                await self._clock.sleep(delays[attempt])
        raise AssertionError("unreachable")

    async def open(self) -> StreamLink:
        try:
            async with asyncio.timeout(self._tuning.open_timeout_seconds):
                stream = await self._transport()
        except TimeoutError:
            raise NovaStreamError(
                "open_timeout", "Nova Sonic did not open a stream in time", retryable=True
            ) from None
        self.opened += 1
        link = StreamLink(stream, number=self.opened, opened_at=self._clock.now())
        link.reader = self.spawn(self._read(link))
        try:
            await link.setup(self._config, self._tuning.inference, self._nova2)
        except (NovaStreamError, asyncio.CancelledError):
            await self.retire(link, graceful=False)
            raise
        return link

    async def retire(self, link: StreamLink, graceful: bool = True) -> None:
        """End a stream we no longer use (gracefully: contentEnd, promptEnd, sessionEnd)."""
        link.retired = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._tuning.close_timeout_seconds):
                await (link.finish() if graceful else link.abort())
                if link.reader is not None:
                    await asyncio.wait([link.reader])  # its last usage events still count
        if link.reader is not None:
            link.reader.cancel()

    def retire_soon(self, link: StreamLink, graceful: bool = True) -> None:
        self.spawn(self.retire(link, graceful))

    async def _read(self, link: StreamLink) -> None:
        try:
            while (raw := await link.stream.receive()) is not None:
                self._on_output(link, raw)
            failure = NovaStreamError("stream_closed", "the model ended the stream", retryable=True)
        except NovaStreamError as exc:
            failure = exc
        except Exception as exc:  # the SDK's own failures: a fresh stream may still work
            failure = NovaStreamError("transport", repr(exc), retryable=True)
        self._on_failure(link, failure)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

"""Frame processors and the pipeline that chains them with direct calls (no queue per hop)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipeline.frames import Frame

FrameSink = Callable[[Frame], None]


class FrameProcessor:
    """One step of a pipeline. Override `process`; call `push` to pass frames on.

    `process` is synchronous on purpose: the audio hot path is a chain of plain calls.
    Work that must wait (sockets, models) happens behind a queue at an I/O boundary.
    """

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: FrameSink | None = None

    def link(self, sink: FrameSink) -> None:
        self._next = sink

    def process(self, frame: Frame) -> None:
        self.push(frame)

    def push(self, frame: Frame) -> None:
        if self._next is not None:
            self._next(frame)


class Pipeline:
    """Processors linked head to tail; `push` feeds the head, the tail feeds `sink`."""

    __slots__ = ("_head", "processors")

    def __init__(self, processors: Iterable[FrameProcessor], sink: FrameSink | None = None) -> None:
        self.processors = list(processors)
        for current, following in zip(self.processors, self.processors[1:], strict=False):
            current.link(following.process)
        if self.processors and sink is not None:
            self.processors[-1].link(sink)
        self._head: FrameSink = self.processors[0].process if self.processors else sink or _drop

    def push(self, frame: Frame) -> None:
        self._head(frame)


def _drop(frame: Frame) -> None:
    """Sink of an empty pipeline."""

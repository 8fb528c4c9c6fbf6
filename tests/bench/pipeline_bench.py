"""Per-frame cost of 5 chained processors carrying 20 ms audio: Oratio's Pipeline vs pipecat's."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from pipeline.frames import AudioFrame, Frame, InputAudioFrame
from pipeline.processor import FrameProcessor, Pipeline

PROCESSORS = 5
SAMPLE_RATE = 16000
FRAME_BYTES = 640  # 20 ms of 16 kHz PCM16


@dataclass(frozen=True, slots=True)
class Cost:
    """Median per-frame cost over the measured rounds, in microseconds."""

    cpu_us: float
    wall_us: float
    rounds_cpu_us: tuple[float, ...]


def _cost(samples: list[tuple[float, float]], frames: int) -> Cost:
    cpu = [c * 1e6 / frames for c, _ in samples]
    wall = [w * 1e6 / frames for _, w in samples]
    return Cost(statistics.median(cpu), statistics.median(wall), tuple(cpu))


class _Meter:
    """Process CPU time and wall time of one round."""

    def __enter__(self) -> _Meter:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


# The same work in both frameworks: look at the frame, count it and its bytes, pass it on.


class OratioTouch(FrameProcessor):
    __slots__ = ("audio_bytes", "frames", "reached", "target")

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0
        self.audio_bytes = 0
        self.target = 0
        self.reached = False

    def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioFrame):
            self.frames += 1
            self.audio_bytes += len(frame.pcm)
            if self.frames == self.target:  # mirrors pipecat's end-of-batch signal
                self.reached = True
        self.push(frame)


def bench_oratio(frames: int, rounds: int, warmup: int) -> Cost:
    """Push `frames` InputAudioFrames through the chain per round; they come out synchronously."""
    chain = [OratioTouch() for _ in range(PROCESSORS)]
    out: list[Frame] = []
    pipeline = Pipeline(chain, sink=out.append)
    batch = [InputAudioFrame(bytes(FRAME_BYTES), SAMPLE_RATE) for _ in range(frames)]
    push = pipeline.push
    for frame in batch[:warmup]:
        push(frame)
    samples = []
    for _ in range(rounds):
        out.clear()
        chain[-1].target, chain[-1].reached = chain[-1].frames + frames, False
        with _Meter() as meter:
            for frame in batch:
                push(frame)
        assert len(out) == frames and chain[-1].reached
        samples.append((meter.cpu, meter.wall))
    assert all(p.frames == min(warmup, frames) + rounds * frames for p in chain)
    return _cost(samples, frames)


def bench_pipecat(frames: int, rounds: int, warmup: int) -> Cost:
    """The same chain as real pipecat processors in a Pipeline run by a PipelineWorker."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")  # pipecat logs at DEBUG by default
    return asyncio.run(_bench_pipecat(frames, rounds, warmup))


async def _bench_pipecat(frames: int, rounds: int, warmup: int) -> Cost:
    from pipecat.frames.frames import AudioRawFrame, EndFrame, InputAudioRawFrame
    from pipecat.frames.frames import Frame as PipecatFrame
    from pipecat.pipeline.pipeline import Pipeline as PipecatPipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.frame_processor import FrameDirection
    from pipecat.processors.frame_processor import FrameProcessor as PipecatProcessor
    from pipecat.workers.runner import WorkerRunner

    class PipecatTouch(PipecatProcessor):
        def __init__(self) -> None:
            super().__init__()
            self.frames = 0
            self.audio_bytes = 0
            self.target = 0
            self.reached: asyncio.Event | None = None

        async def process_frame(self, frame: PipecatFrame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, AudioRawFrame):
                self.frames += 1
                self.audio_bytes += len(frame.audio)
                if self.reached is not None and self.frames == self.target:
                    self.reached.set()
            await self.push_frame(frame, direction)

    chain = [PipecatTouch() for _ in range(PROCESSORS)]
    last = chain[-1]
    # Lightest real setup: no RTVI, turn tracking, idle watchdog, heartbeats or metrics.
    worker = PipelineWorker(
        PipecatPipeline(chain),
        params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE),
        enable_rtvi=False,
        enable_turn_tracking=False,
        idle_timeout_secs=None,
        cancel_on_idle_timeout=False,
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _on_started(_worker: Any, _frame: Any) -> None:
        started.set()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 30)

    def batch(n: int) -> list[PipecatFrame]:
        return [InputAudioRawFrame(bytes(FRAME_BYTES), SAMPLE_RATE, 1) for _ in range(n)]

    async def through(frames_in: list[PipecatFrame]) -> None:
        last.target = last.frames + len(frames_in)
        last.reached = asyncio.Event()
        await worker.queue_frames(frames_in)
        await asyncio.wait_for(last.reached.wait(), 120)

    await through(batch(warmup))
    samples = []
    for _ in range(rounds):
        frames_in = batch(frames)
        with _Meter() as meter:
            await through(frames_in)
        samples.append((meter.cpu, meter.wall))
    assert all(p.frames == last.frames == warmup + rounds * frames for p in chain)
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(running, 30)
    return _cost(samples, frames)


def describe(name: str, cost: Cost) -> str:
    rounds = ", ".join(f"{c:.2f}" for c in cost.rounds_cpu_us)
    return f"  {name}: cpu {cost.cpu_us:.2f} us/frame, wall {cost.wall_us:.2f} us/frame ({rounds})"

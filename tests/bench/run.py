"""`make bench`: resampler delay and cost, then the pipeline per-frame cost, Oratio vs pipecat."""

from __future__ import annotations

import itertools
import platform
import time
import timeit
from importlib.metadata import version

import numpy as np

from pipeline.resampler import COMMON_RATES, StreamResampler
from tests.bench.delay import measure_delay_ms
from tests.bench.pipeline_bench import (
    FRAME_BYTES,
    PROCESSORS,
    SAMPLE_RATE,
    bench_oratio,
    bench_pipecat,
    describe,
)

FRAMES = 5000
ROUNDS = 7
WARMUP = 1000
COST_PAIRS = ((8000, 16000), (16000, 8000), (24000, 8000), (16000, 24000), (48000, 16000))


def resampler_cost_us(in_rate: int, out_rate: int) -> float:
    """CPU per 20 ms frame of noise, best of 5 runs of 200 frames."""
    resampler = StreamResampler(in_rate, out_rate)
    rng = np.random.default_rng(0)
    pcm = rng.normal(0, 3000, in_rate // 50).astype("<i2").tobytes()
    timer = timeit.Timer(lambda: resampler.process(pcm), timer=time.process_time)
    return min(timer.repeat(repeat=5, number=200)) / 200 * 1e6


def main() -> None:
    for in_rate, out_rate in itertools.permutations(COMMON_RATES, 2):
        delay_ms, _ = measure_delay_ms(in_rate, out_rate)
        print(f"resampler delay {in_rate}->{out_rate}: {delay_ms:.2f} ms")
    for in_rate, out_rate in COST_PAIRS:
        cost = resampler_cost_us(in_rate, out_rate)
        print(f"resampler cost {in_rate}->{out_rate}: {cost:.1f} us per 20 ms frame")

    print(
        f"pipeline: {PROCESSORS} processors, {FRAME_BYTES}-byte frames ({SAMPLE_RATE} Hz, 20 ms), "
        f"{FRAMES} frames x {ROUNDS} rounds after {WARMUP} warm-up; median per frame "
        f"(python {platform.python_version()}, pipecat-ai {version('pipecat-ai')})"
    )
    oratio = bench_oratio(FRAMES, ROUNDS, WARMUP)
    print(describe("oratio (direct calls)", oratio))
    pipecat = bench_pipecat(FRAMES, ROUNDS, WARMUP)
    print(describe("pipecat (PipelineWorker + WorkerRunner)", pipecat))
    print(f"  wall-clock ratio {pipecat.wall_us / oratio.wall_us:.1f}")
    print(
        f"pipeline per-frame: oratio {oratio.cpu_us:.2f} us, pipecat {pipecat.cpu_us:.2f} us, "
        f"ratio {pipecat.cpu_us / oratio.cpu_us:.1f}"
    )


if __name__ == "__main__":
    main()

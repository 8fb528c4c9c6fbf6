"""Low-delay streaming resampler: polyphase Kaiser-windowed sinc FIR, integer math, state kept."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from math import gcd

import numpy as np
import numpy.typing as npt

COMMON_RATES = (8000, 16000, 24000, 44100, 48000)  # telephony, engines, browsers; any pair works

# The filter reaches HALF_WIDTH samples of the lower rate each side of the output instant, so the
# delay is HALF_WIDTH / min(rates): 1.875 ms at 8 kHz, 0.94 ms at 16 kHz, 0.34 ms at 44.1 kHz.
HALF_WIDTH = 15
CUTOFF = 0.92  # -6 dB point as a fraction of the lower Nyquist: -0.8 dB at 3.4 kHz for 8 kHz
KAISER_BETA = 6.0  # >= 65 dB stopband from 1.1 x the lower Nyquist up
MIN_RATE = 8000
MAX_PHASES = 1024  # keeps the coefficient table small (441 phases for 16 kHz -> 44.1 kHz)
# Coefficients are integers (22 fractional bits) held in float64: every product and partial sum is
# an integer below 2**53, so sums are exact in any order and chunking cannot change a single bit.
_Q = 22
_ROUND = float(1 << (_Q - 1))
_SCALE = 1.0 / (1 << _Q)
_PHASE_LOOP_MAX = 8  # up to this many phases, one strided mat-vec per phase beats a gather
_BLOCK = 4096  # outputs computed at once

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Filter:
    up: int  # L: output rate / gcd, also the number of phases
    down: int  # M: input rate / gcd
    offset: int  # the delay, in 1/L input samples
    taps: int
    table: FloatArray  # (L, taps): coefficient of input sample (newest - taps + 1 + k), phase p


@cache
def _design(in_rate: int, out_rate: int) -> _Filter:
    g = gcd(in_rate, out_rate)
    up, down = out_rate // g, in_rate // g
    low = min(in_rate, out_rate)
    # Exact integer: in_rate * up / low is `up` (upsampling) or `down` (downsampling).
    offset = HALF_WIDTH * in_rate * up // low
    taps = 2 * offset // up + 1
    half_width = offset / up  # in input samples
    cutoff = CUTOFF * low / 2 / in_rate  # cycles per input sample
    # x[p, k]: distance in input samples from the output instant to input sample (newest - k).
    x = (np.arange(up)[:, None] + np.arange(taps)[None, :] * up - offset) / up
    u = np.clip(x / half_width, -1.0, 1.0)
    window = np.where(np.abs(x) <= half_width, np.i0(KAISER_BETA * np.sqrt(1.0 - u * u)), 0.0)
    h = np.sinc(2 * cutoff * x) * window
    h /= h.sum(axis=1, keepdims=True)  # unity DC gain for every phase
    table = np.rint(h * (1 << _Q))
    # Absorb the rounding error in the largest tap so each phase sums to exactly 1.0.
    table[np.arange(up), np.argmax(table, axis=1)] += (1 << _Q) - table.sum(axis=1)
    # Oldest input first, to match sliding windows over the input.
    return _Filter(up, down, offset, taps, np.ascontiguousarray(table[:, ::-1]))


class StreamResampler:
    """Resample a PCM16 stream chunk by chunk; output is bit-identical however input is chunked.

    Output sample j is the band-limited input at time j / out_rate - delay, computed from the
    input samples up to time j / out_rate, so each output is emitted as soon as its newest input
    arrives. Integer accumulation makes the result independent of chunk boundaries.
    """

    __slots__ = ("_fir", "_history", "_history_start", "_n_in", "_n_out", "in_rate", "out_rate")

    def __init__(self, in_rate: int, out_rate: int) -> None:
        if min(in_rate, out_rate) < MIN_RATE:
            raise ValueError(f"sample rates must be >= {MIN_RATE} Hz, got {in_rate}->{out_rate}")
        if out_rate // gcd(in_rate, out_rate) > MAX_PHASES:
            raise ValueError(f"unsupported rate ratio {in_rate}->{out_rate}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._fir = _design(in_rate, out_rate)
        self._reset()

    @property
    def delay_ms(self) -> float:
        """Algorithmic delay of the output versus the input, in milliseconds."""
        if self.in_rate == self.out_rate:
            return 0.0
        return 1000 * HALF_WIDTH / min(self.in_rate, self.out_rate)

    def _reset(self) -> None:
        # Input before the stream began counts as silence.
        self._history: FloatArray = np.zeros(self._fir.taps - 1, dtype=np.float64)
        self._history_start = 1 - self._fir.taps  # stream index of _history[0]
        self._n_in = 0
        self._n_out = 0

    def process(self, pcm: bytes) -> bytes:
        """Feed PCM16 little endian; return every output sample whose input has now arrived."""
        if len(pcm) % 2:
            raise ValueError(f"PCM16 needs an even number of bytes, got {len(pcm)}")
        if self.in_rate == self.out_rate:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        return self._run(samples, None)

    def flush(self) -> bytes:
        """Return the delayed tail (input end + delay) and reset for a new stream."""
        if self.in_rate == self.out_rate:
            return b""
        f = self._fir
        total = -(-(self._n_in * f.up + f.offset) // f.down)
        newest_needed = (total - 1) * f.down // f.up
        silence = np.zeros(max(0, newest_needed + 1 - self._n_in), dtype=np.float64)
        tail = self._run(silence, total)
        self._reset()
        return tail

    def _run(self, samples: FloatArray, limit: int | None) -> bytes:
        f = self._fir
        buffer = np.concatenate((self._history, samples)) if samples.size else self._history
        self._n_in += samples.size
        # Output j needs input up to index floor(j * M / L): ready once j * M < n_in * L.
        total = -(-(self._n_in * f.up) // f.down)
        if limit is not None:
            total = min(total, limit)
        count = total - self._n_out
        out = b""
        if count > 0:
            # Long inputs (a whole TTS utterance) go in blocks to bound the temporary arrays.
            blocks = range(self._n_out, total, _BLOCK)
            acc = np.concatenate(
                [self._accumulate(buffer, j, min(_BLOCK, total - j)) for j in blocks]
            )
            pcm = np.floor((acc + _ROUND) * _SCALE).clip(-32768, 32767).astype("<i2")
            out = pcm.tobytes()
            self._n_out = total
        keep_from = self._n_out * f.down // f.up - (f.taps - 1)
        self._history = buffer[keep_from - self._history_start :]
        self._history_start = keep_from
        return out

    def _accumulate(self, buffer: FloatArray, first_output: int, count: int) -> FloatArray:
        """Accumulators of `count` outputs from `first_output` on (exact integers, x 2**_Q)."""
        f = self._fir
        first = first_output * f.down
        # Window w starts at buffer[w]; output j's window ends at its newest input.
        windows = _windows(buffer, f.taps)
        start = first // f.up - self._history_start - (f.taps - 1)
        if f.up <= _PHASE_LOOP_MAX:
            # Outputs j, j + L, j + 2L... share a phase and their windows step by M.
            acc = np.empty(count)
            for r in range(min(f.up, count)):
                step = first % f.up + r * f.down
                rows = windows[start + step // f.up :: f.down][: len(range(r, count, f.up))]
                acc[r :: f.up] = rows @ f.table[step % f.up]
            return acc
        steps = first % f.up + np.arange(count) * f.down
        rows = windows[start + steps // f.up]
        return np.einsum("ij,ij->i", rows, f.table[steps % f.up])


def _windows(buffer: FloatArray, taps: int) -> FloatArray:
    """Read-only overlapping views buffer[w : w + taps] (sliding_window_view minus its overhead)."""
    step = buffer.strides[0]
    shape = (buffer.size - taps + 1, taps)
    view: FloatArray = np.ndarray(shape, np.float64, buffer, 0, (step, step))
    view.flags.writeable = False
    return view

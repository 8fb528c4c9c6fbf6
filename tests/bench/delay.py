"""Measure a StreamResampler's delay: where a band-limited pulse comes out versus went in."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pipeline.resampler import StreamResampler

PULSE_AT_S = 0.020
PULSE_SIGMA_S = 0.0005  # Gaussian: its spectrum is ~e^-44 down at 3 kHz, inside every passband
PULSE_PEAK = 16000.0


def _pulse(rate: int, length_s: float, shift_s: float = 0.0) -> npt.NDArray[np.float64]:
    t = np.arange(round(rate * length_s)) / rate
    centre = PULSE_AT_S + shift_s
    return np.asarray(PULSE_PEAK * np.exp(-0.5 * ((t - centre) / PULSE_SIGMA_S) ** 2))


def measure_delay_ms(in_rate: int, out_rate: int) -> tuple[float, float]:
    """(delay in ms, similarity 0..1) of the resampled pulse versus the ideal one at out_rate.

    The delay is the lag that maximises the cross-correlation with the ideal pulse, searched to
    0.1 us; similarity is their normalised correlation at that lag (1.0: same shape).
    """
    resampler = StreamResampler(in_rate, out_rate)
    pcm = np.rint(_pulse(in_rate, 0.060)).astype("<i2").tobytes()
    out = resampler.process(pcm) + resampler.flush()
    y = np.frombuffer(out, dtype="<i2").astype(np.float64)
    t = np.arange(y.size) / out_rate

    def best(lags: npt.NDArray[np.float64]) -> float:
        ideal = PULSE_PEAK * np.exp(
            -0.5 * ((t[None, :] - PULSE_AT_S - lags[:, None]) / PULSE_SIGMA_S) ** 2
        )
        return float(lags[np.argmax(ideal @ y)])

    coarse = best(np.arange(-0.002, 0.010, 1e-5))
    lag = best(coarse + np.arange(-1e-5, 1e-5, 1e-7))
    ideal = PULSE_PEAK * np.exp(-0.5 * ((t - PULSE_AT_S - lag) / PULSE_SIGMA_S) ** 2)
    similarity = float(ideal @ y / (np.linalg.norm(ideal) * np.linalg.norm(y)))
    return lag * 1000, similarity

"""StreamResampler: delay, chunking invariance, quality, aliasing, pass-through, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from pipeline.resampler import COMMON_RATES, StreamResampler
from tests.bench.delay import measure_delay_ms

# 22050 Hz is the local TTS voice's native rate.
RATES = (*COMMON_RATES, 22050)
PAIRS = list(itertools.permutations(RATES, 2))
DOWN = [(a, b) for a, b in PAIRS if b < a]
UP = [(a, b) for a, b in PAIRS if b > a]
MAX_DELAY_MS = 2.0

Signal = npt.NDArray[np.float64]


def _pcm(x: Signal) -> bytes:
    return np.rint(x).clip(-32768, 32767).astype("<i2").tobytes()


def _samples(pcm: bytes) -> Signal:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _resample_all(in_rate: int, out_rate: int, x: Signal) -> Signal:
    resampler = StreamResampler(in_rate, out_rate)
    return _samples(resampler.process(_pcm(x)) + resampler.flush())


def _tone(rate: int, freq: float, seconds: float = 0.5, amplitude: float = 10000.0) -> Signal:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)


def _steady(y: Signal, rate: int) -> Signal:
    """The part of a 0.5 s output clear of start-up and tail transients."""
    return y[round(0.05 * rate) : round(0.4 * rate)]


def _rms(x: Signal) -> float:
    return float(np.sqrt(np.mean(x**2)))


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_delay_is_at_most_2_ms(in_rate: int, out_rate: int) -> None:
    delay_ms, similarity = measure_delay_ms(in_rate, out_rate)
    assert similarity > 0.9999  # the pulse came out intact, so the lag is meaningful
    assert 0 < delay_ms <= MAX_DELAY_MS
    assert delay_ms == pytest.approx(StreamResampler(in_rate, out_rate).delay_ms, abs=0.005)


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_chunked_output_equals_one_shot(in_rate: int, out_rate: int) -> None:
    rng = np.random.default_rng(in_rate * 7 + out_rate)
    t = np.arange(round(0.3 * in_rate)) / in_rate
    chirp = 12000 * np.sin(2 * np.pi * (100 * t + 0.5 * (in_rate / 2 / 0.3) * t**2))
    x = chirp + rng.normal(0, 3000, t.size)
    pcm = _pcm(x)
    one_shot = StreamResampler(in_rate, out_rate)
    whole = one_shot.process(pcm)
    whole_tail = one_shot.flush()

    chunked = StreamResampler(in_rate, out_rate)
    parts: list[bytes] = []
    position = 0
    while position < t.size:
        # Mostly tiny and odd sample counts, now and then a frame-sized chunk.
        size = int(rng.integers(1, 8)) if rng.random() < 0.5 else int(rng.integers(1, 700))
        parts.append(chunked.process(pcm[2 * position : 2 * (position + size)]))
        position += size
    assert b"".join(parts) == whole
    assert chunked.flush() == whole_tail
    # Input end plus the delay comes out, no more, no less.
    expected = (t.size / in_rate + chunked.delay_ms / 1000) * out_rate
    assert abs(len(whole + whole_tail) // 2 - expected) < 1


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_1khz_sine_keeps_frequency_and_amplitude(in_rate: int, out_rate: int) -> None:
    resampler = StreamResampler(in_rate, out_rate)
    y = _resample_all(in_rate, out_rate, _tone(in_rate, 1000))
    t = np.arange(y.size) / out_rate - resampler.delay_ms / 1000
    ideal = 10000 * np.sin(2 * np.pi * 1000 * t)
    error = _steady(y, out_rate) - _steady(ideal, out_rate)
    snr_db = 20 * np.log10(_rms(_steady(ideal, out_rate)) / _rms(error))
    assert snr_db > 60
    assert _rms(_steady(y, out_rate)) == pytest.approx(10000 / np.sqrt(2), rel=0.01)
    spectrum = np.abs(np.fft.rfft(_steady(y, out_rate) * np.hanning(_steady(y, out_rate).size)))
    peak_hz = np.argmax(spectrum) * out_rate / _steady(y, out_rate).size
    assert peak_hz == pytest.approx(1000, abs=out_rate / _steady(y, out_rate).size)


@pytest.mark.parametrize(("in_rate", "out_rate"), DOWN)
def test_downsampling_attenuates_aliases(in_rate: int, out_rate: int) -> None:
    # A tone at 0.6 x out_rate would fold to 0.4 x out_rate, well inside the output band.
    freq = 0.6 * out_rate
    if freq > 0.45 * in_rate:
        pytest.skip("no alias-prone tone below the input's Nyquist for this pair")
    y = _resample_all(in_rate, out_rate, _tone(in_rate, freq))
    attenuation_db = 20 * np.log10(10000 / np.sqrt(2) / max(_rms(_steady(y, out_rate)), 1e-3))
    assert attenuation_db > 60


def test_7khz_tone_folded_onto_1khz_at_8khz_is_removed() -> None:
    y = _resample_all(48000, 8000, _tone(48000, 7000))
    assert _rms(_steady(y, 8000)) < 10  # from 7071 rms: > 57 dB down, a few LSBs at most


def test_tone_above_the_output_band_is_removed_when_going_to_16khz() -> None:
    # 48 kHz -> 16 kHz: 7 kHz is inside the 8 kHz band and passes; 10 kHz would fold onto 6 kHz.
    kept = _resample_all(48000, 16000, _tone(48000, 7000))
    removed = _resample_all(48000, 16000, _tone(48000, 10000))
    assert _rms(_steady(kept, 16000)) > 0.5 * 10000 / np.sqrt(2)
    assert _rms(_steady(removed, 16000)) < 10


@pytest.mark.parametrize(("in_rate", "out_rate"), UP)
def test_upsampling_attenuates_images(in_rate: int, out_rate: int) -> None:
    freq = 0.4 * in_rate
    y = _steady(_resample_all(in_rate, out_rate, _tone(in_rate, freq)), out_rate)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    bins = np.fft.rfftfreq(y.size, 1 / out_rate)
    image_freq = in_rate - freq  # the first image; above out_rate / 2 it shows up folded
    if image_freq > out_rate / 2:
        image_freq = out_rate - image_freq
    wanted = spectrum[np.abs(bins - freq) < 100].max()
    image = spectrum[np.abs(bins - image_freq) < 100].max()
    assert 20 * np.log10(wanted / image) > 60


@pytest.mark.parametrize("rate", RATES)
def test_same_rate_is_a_pass_through(rate: int) -> None:
    resampler = StreamResampler(rate, rate)
    pcm = _pcm(_tone(rate, 440, 0.02))
    assert resampler.process(pcm) is pcm
    assert resampler.flush() == b""
    assert resampler.delay_ms == 0


def test_flush_resets_for_a_new_stream() -> None:
    resampler = StreamResampler(8000, 16000)
    pcm = _pcm(_tone(8000, 440, 0.05))
    first = resampler.process(pcm) + resampler.flush()
    second = resampler.process(pcm) + resampler.flush()
    assert first == second
    assert len(first) > 0


def test_output_is_emitted_as_soon_as_its_input_arrives() -> None:
    resampler = StreamResampler(8000, 16000)
    assert len(resampler.process(_pcm(np.zeros(160)))) == 2 * 320  # 20 ms in, 20 ms out
    resampler = StreamResampler(48000, 16000)
    assert resampler.process(_pcm(np.zeros(2))) == b"\x00\x00"  # output 0 needs input 0 only
    assert resampler.process(_pcm(np.zeros(1))) == b""  # output 1 needs input 3
    assert len(resampler.process(_pcm(np.zeros(1)))) == 2


def test_full_scale_input_clips_instead_of_wrapping() -> None:
    period = 96  # 500 Hz square wave at 48 kHz, full scale: the filter overshoots at each edge
    square = np.where(np.arange(4800) % period < period // 2, 32767.0, -32768.0)
    resampler = StreamResampler(48000, 16000)
    y = _resample_all(48000, 16000, square)
    assert y.max() == 32767 and y.min() == -32768
    # Away from the edges the output has the input's sign: an overflow would flip it.
    t_in = (np.arange(y.size) / 16000 - resampler.delay_ms / 1000) * 48000
    phase = t_in % period
    inside_high = (phase > 12) & (phase < period // 2 - 12) & (t_in > 0) & (t_in < 4800)
    inside_low = (phase > period // 2 + 12) & (phase < period - 12) & (t_in > 0) & (t_in < 4800)
    assert inside_high.sum() > 100 and inside_low.sum() > 100
    assert np.all(y[inside_high] > 30000) and np.all(y[inside_low] < -30000)


def test_odd_byte_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        StreamResampler(8000, 16000).process(b"\x00\x00\x00")


@pytest.mark.parametrize(("in_rate", "out_rate"), [(4000, 16000), (16000, 44101)])
def test_unsupported_rates_are_rejected(in_rate: int, out_rate: int) -> None:
    with pytest.raises(ValueError):
        StreamResampler(in_rate, out_rate)

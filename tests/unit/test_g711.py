"""G.711 codecs: known code points, round-trip error bounds, input validation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from pipeline.g711 import alaw_to_pcm, pcm_to_alaw, pcm_to_ulaw, ulaw_to_pcm

Codec = Callable[[bytes], bytes]


def _pcm(values: list[int] | np.ndarray) -> bytes:
    return np.asarray(values, dtype="<i2").tobytes()


def _samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.int64)


def test_ulaw_known_code_points() -> None:
    assert _samples(ulaw_to_pcm(bytes([0xFF, 0x7F]))).tolist() == [0, 0]
    # 0x80 / 0x00 are the extremes of mu-law: +-32124.
    assert _samples(ulaw_to_pcm(bytes([0x80, 0x00]))).tolist() == [32124, -32124]
    assert pcm_to_ulaw(_pcm([0])) == b"\xff"


def test_alaw_known_code_points() -> None:
    assert _samples(alaw_to_pcm(b"\xd5")).tolist() == [8]
    assert _samples(alaw_to_pcm(b"\x55")).tolist() == [-8]
    assert _samples(alaw_to_pcm(bytes([0xAA, 0x2A]))).tolist() == [32256, -32256]
    assert pcm_to_alaw(_pcm([0])) == b"\xd5"


def test_output_is_little_endian_pcm16() -> None:
    pcm = ulaw_to_pcm(b"\x80")
    assert len(pcm) == 2
    assert int.from_bytes(pcm, "little", signed=True) == 32124


@pytest.mark.parametrize(
    ("encode", "decode"), [(pcm_to_ulaw, ulaw_to_pcm), (pcm_to_alaw, alaw_to_pcm)]
)
def test_every_code_round_trips_exactly(encode: Codec, decode: Codec) -> None:
    codes = bytes(range(256))
    decoded = decode(codes)
    assert len(decoded) == 512
    again = encode(decoded)
    # Both laws have a single zero-ish pair (mu-law 0x7F/0xFF both decode to 0): compare values.
    assert decode(again) == decoded


@pytest.mark.parametrize(
    ("encode", "decode", "peak", "relative", "floor"),
    [(pcm_to_ulaw, ulaw_to_pcm, 32124, 1 / 16, 12), (pcm_to_alaw, alaw_to_pcm, 32256, 1 / 32, 8)],
)
def test_round_trip_error_is_bounded(
    encode: Codec, decode: Codec, peak: int, relative: float, floor: int
) -> None:
    values = np.arange(-32768, 32768, dtype=np.int64)
    encoded = encode(_pcm(values))
    assert len(encoded) == values.size
    decoded = _samples(decode(encoded))
    # Each law's largest code decodes to `peak`: beyond it the codec clips.
    assert decoded.max() == peak and decoded.min() == -peak
    expected = np.clip(values, -peak, peak)
    error = np.abs(decoded - expected)
    # Logarithmic companding: the error grows with the magnitude (a few % of it), small near zero.
    assert np.all(error <= np.maximum(np.abs(expected) * relative, floor))
    assert np.corrcoef(decoded, values)[0, 1] > 0.9999


def test_round_trip_keeps_a_speech_level_sine() -> None:
    t = np.arange(8000) / 8000
    sine = np.rint(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int64)
    for encode, decode in ((pcm_to_ulaw, ulaw_to_pcm), (pcm_to_alaw, alaw_to_pcm)):
        out = _samples(decode(encode(_pcm(sine))))
        noise = np.sum((out - sine) ** 2)
        snr_db = 10 * np.log10(np.sum(sine**2) / noise)
        assert snr_db > 35  # G.711 gives ~38 dB SNR at speech levels


@pytest.mark.parametrize("encode", [pcm_to_ulaw, pcm_to_alaw])
def test_odd_length_pcm_is_rejected(encode: Codec) -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        encode(b"\x00\x01\x02")


def test_empty_input() -> None:
    assert ulaw_to_pcm(b"") == b""
    assert pcm_to_alaw(b"") == b""

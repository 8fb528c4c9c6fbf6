"""Audio helpers for the browser tests: a spoken question as the WAV Chromium's fake mic plays."""

from __future__ import annotations

import wave
from pathlib import Path

from pipeline.engines import tts

# Chromium's --use-file-for-fake-audio-capture wants 16-bit PCM WAV; it loops the file forever.
FAKE_MIC_RATE = 48000
# What the caller asks about the sample retail-returns SOP (examples/sops/retail-returns.md).
QUESTION = "How many days do I have to return an item?"


def silence(seconds: float, sample_rate: int = FAKE_MIC_RATE) -> bytes:
    """PCM16 mono silence."""
    return b"\x00\x00" * int(seconds * sample_rate)


def spoken_question_wav(
    path: Path,
    text: str,
    *,
    lead_silence: float = 1.5,
    tail_silence: float = 8.0,
    sample_rate: int = FAKE_MIC_RATE,
) -> Path:
    """Write `text`, spoken by the project's local TTS, padded with silence, to a mono WAV.

    The lead silence lets the call connect before the question starts; the long tail keeps the
    caller quiet while the agent answers (Chromium loops the file, so the question comes again
    only after the tail).
    """
    speech = tts.synthesize(text, sample_rate=sample_rate)
    if not speech:
        raise RuntimeError(f"the local TTS produced no audio for {text!r}")
    pcm = silence(lead_silence, sample_rate) + speech + silence(tail_silence, sample_rate)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return path


def wav_duration(path: Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def silence_wav(path: Path, seconds: float = 5.0, sample_rate: int = FAKE_MIC_RATE) -> Path:
    """A silent mono WAV: a microphone that hears nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(silence(seconds, sample_rate))
    return path

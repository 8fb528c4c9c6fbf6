"""Call recording: a stereo WAV (left: caller, right: agent) as the caller heard it."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from pipeline.frames import Frame, InputAudioFrame, InterruptionFrame, OutputAudioFrame
from pipeline.processor import FrameProcessor

FLUSH_BYTES = 32000  # write settled audio about once a second at 16 kHz


class CallRecorder(FrameProcessor):
    """Caller audio sets the clock (it arrives in real time). Agent audio, which arrives
    faster than real time, is laid from the caller's current position on; a barge-in cuts the
    agent audio the caller never heard. Settled audio streams to disk, so memory stays small."""

    def __init__(self, path: Path, sample_rate: int) -> None:
        super().__init__()
        self.path = path
        self.sample_rate = sample_rate
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)
        self._caller = bytearray()
        self._agent = bytearray()
        self._closed = False

    def process(self, frame: Frame) -> None:
        kind = type(frame)
        if kind is InputAudioFrame or kind is OutputAudioFrame:
            audio: InputAudioFrame | OutputAudioFrame = frame  # type: ignore[assignment]
            if audio.sample_rate == self.sample_rate and not self._closed:
                if kind is InputAudioFrame:
                    self._caller += audio.pcm
                    if len(self._caller) >= FLUSH_BYTES:
                        self._flush(len(self._caller))
                else:
                    if len(self._agent) < len(self._caller):
                        self._agent += bytes(len(self._caller) - len(self._agent))
                    self._agent += audio.pcm
        elif kind is InterruptionFrame:
            del self._agent[len(self._caller) :]
        self.push(frame)

    def close(self) -> Path:
        """Write what is left (agent audio past the caller's end included) and finish."""
        if not self._closed:
            self._closed = True
            self._flush(max(len(self._caller), len(self._agent)))
            self._wav.close()
        return self.path

    def _flush(self, size: int) -> None:
        size -= size % 2
        caller = np.frombuffer(_take(self._caller, size), dtype="<i2")
        agent = np.frombuffer(_take(self._agent, size), dtype="<i2")
        stereo = np.empty(2 * (size // 2), dtype="<i2")
        stereo[0::2] = caller
        stereo[1::2] = agent
        self._wav.writeframes(stereo.tobytes())


def _take(buffer: bytearray, size: int) -> bytes:
    """The first `size` bytes of a track (zero-padded), removed from it."""
    head = bytes(buffer[:size]).ljust(size, b"\x00")
    del buffer[:size]
    return head

"""Voice activity detection: cut a 16 kHz caller stream into utterances (WebRTC-style VAD)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pipeline.engines.base import Endpointing

VAD_RATE = 16000
# Trailing silence that ends an utterance, per EngineConfig.endpointing (HIGH = quickest).
END_SILENCE_MS: dict[Endpointing, int] = {"HIGH": 500, "MEDIUM": 600, "LOW": 800}


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The caller has been speaking for `confirm_ms`: real speech, not a click (barge-in cue)."""


@dataclass(frozen=True, slots=True)
class Utterance:
    """One finished utterance: PCM16 at 16 kHz, with a little audio before its first word."""

    pcm: bytes

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 32


VadEvent = SpeechStarted | Utterance


class UtteranceSegmenter:
    """Frames in, events out: speech start after `confirm_ms`, utterance after trailing silence.

    Bursts with less than `min_speech_ms` of speech (clicks, a cough) are dropped; an utterance
    longer than `max_utterance_ms` is cut so the caller is never ignored for long.
    """

    def __init__(
        self,
        *,
        end_silence_ms: int = 600,
        min_speech_ms: int = 200,
        confirm_ms: int = 250,
        pre_roll_ms: int = 300,
        max_utterance_ms: int = 15000,
        aggressiveness: int = 2,
    ) -> None:
        from pocketsphinx import Vad

        self._vad = Vad(aggressiveness, VAD_RATE, 0.03)
        self._frame_bytes: int = self._vad.frame_bytes
        frame_ms = self._frame_bytes / 32
        self._end_frames = max(1, round(end_silence_ms / frame_ms))
        self._min_frames = max(1, round(min_speech_ms / frame_ms))
        self._confirm_frames = max(1, round(confirm_ms / frame_ms))
        self._max_frames = max(1, round(max_utterance_ms / frame_ms))
        self._pre_roll: deque[bytes] = deque(maxlen=max(1, round(pre_roll_ms / frame_ms)))
        self._pending = b""
        self._frames: list[bytes] = []
        self._speech = 0  # speech frames in the current utterance
        self._silence = 0  # consecutive non-speech frames at its end
        self._confirmed = False

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open (speech heard and not yet ended by silence)."""
        return bool(self._frames)

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Classify whole frames of `pcm` (16 kHz PCM16); partial frames wait for more audio."""
        data = self._pending + pcm if self._pending else pcm
        size = self._frame_bytes
        end = len(data) - len(data) % size
        events: list[VadEvent] = []
        for start in range(0, end, size):
            self._frame(data[start : start + size], events)
        self._pending = data[end:]
        return events

    def reset(self) -> None:
        """Forget any open utterance (e.g. after the session is told to stop listening)."""
        self._pending = b""
        self._close()
        self._pre_roll.clear()

    def _frame(self, frame: bytes, events: list[VadEvent]) -> None:
        speech = self._vad.is_speech(frame)
        if not self._frames:
            if not speech:
                self._pre_roll.append(frame)
                return
            self._frames = list(self._pre_roll)
            self._pre_roll.clear()
        self._frames.append(frame)
        if speech:
            self._speech += 1
            self._silence = 0
            if not self._confirmed and self._speech >= self._confirm_frames:
                self._confirmed = True
                events.append(SpeechStarted())
        else:
            self._silence += 1
        too_long = len(self._frames) >= self._max_frames
        if self._silence >= self._end_frames or too_long:
            if self._speech >= self._min_frames:
                events.append(Utterance(b"".join(self._frames)))
            self._close()

    def _close(self) -> None:
        self._frames = []
        self._speech = 0
        self._silence = 0
        self._confirmed = False

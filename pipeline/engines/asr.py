"""Offline speech recognition: pocketsphinx and its bundled en-US model on 16 kHz utterances."""

from __future__ import annotations

import asyncio
import itertools
import math
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from pipeline.engines.domain_lm import DomainLM

ASR_RATE = 16000
# Digitally silent stretches (TTS, noise suppressors, padding) derail the acoustic model's
# energy features; a -60 dBFS noise floor, seeded so results repeat, cures that for free.
NOISE_FLOOR = 30.0
NBEST = 30
MIN_BYTES = ASR_RATE // 10 * 2  # under 100 ms there is nothing to recognize
# Weight of the domain model's log probability against the decoder's path score (measured
# with tests/bench/wer.py and a held-out set: 0.002-0.003 is the sweet spot).
DOMAIN_WEIGHT = 0.002


class RecognitionError(RuntimeError):
    """pocketsphinx could not be loaded or failed on an utterance."""


def _new_decoder() -> Any:
    try:
        from pocketsphinx import Decoder

        return Decoder(samprate=ASR_RATE, loglevel="FATAL")
    except (ImportError, ValueError, RuntimeError) as exc:
        raise RecognitionError(f"pocketsphinx could not load its model: {exc}") from exc


def with_noise_floor(pcm: bytes) -> bytes:
    """`pcm` plus a faint deterministic noise floor (see NOISE_FLOOR)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    samples += np.random.default_rng(0).normal(0.0, NOISE_FLOOR, samples.size)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def _words(hypothesis: str) -> str:
    return " ".join(w for w in hypothesis.split() if not w.startswith(("<", "[")))


class DecoderPool:
    """pocketsphinx decoders are not thread-safe and cost ~0.6 s and ~90 MB each: calls share
    a few, each used by one thread at a time."""

    def __init__(self, size: int = 2) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def warm(self) -> None:
        """Load one decoder now (raises RecognitionError if the model cannot be loaded)."""
        with self.decoder():
            pass

    @contextmanager
    def decoder(self) -> Iterator[Any]:
        """Borrow a decoder; blocks the calling (worker) thread while all are busy."""
        with self._slots:
            try:
                decoder = self._idle.get_nowait()
            except queue.Empty:
                decoder = _new_decoder()
            yield decoder  # a decoder that raised is dropped: its state is unknown
            self._idle.put(decoder)


class Recognizer:
    """Utterance in, words out; re-ranks the decoder's n-best list with a domain model if given."""

    def __init__(self, pool: DecoderPool, domain: DomainLM | None = None) -> None:
        self.pool = pool
        self.domain = domain

    def recognize(self, pcm: bytes) -> str:
        """Transcribe one utterance (16 kHz PCM16); blocking, call from a worker thread."""
        if len(pcm) < MIN_BYTES:
            return ""
        audio = with_noise_floor(pcm)
        with self.pool.decoder() as decoder:
            try:
                decoder.start_utt()
                decoder.process_raw(audio, full_utt=True)
                decoder.end_utt()
                best = decoder.hyp()
                nbest = (
                    [(h.hypstr, h.score) for h in itertools.islice(decoder.nbest(), NBEST)]
                    if self.domain is not None and best is not None
                    else []
                )
            except (RuntimeError, ValueError, IndexError) as exc:
                raise RecognitionError(f"recognition failed: {exc}") from exc
        text = _words(best.hypstr) if best is not None else ""
        return self._rerank(nbest) if nbest else text

    def _rerank(self, nbest: list[tuple[str, float]]) -> str:
        domain = self.domain
        assert domain is not None
        if any(score <= 0.0 for _, score in nbest):
            return _words(nbest[0][0])  # a path score underflowed: keep the decoder's order
        best_score, best_words = -math.inf, ""
        for hypothesis, path_score in nbest:
            words = _words(hypothesis)
            score = math.log(path_score) + DOMAIN_WEIGHT * domain.logprob(words.split())
            if score > best_score:
                best_score, best_words = score, words
        return best_words

    async def transcribe(self, pcm: bytes) -> str:
        """`recognize` on a worker thread, so the event loop keeps serving other calls."""
        return await asyncio.to_thread(self.recognize, pcm)

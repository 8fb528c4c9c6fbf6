"""The local engine's parts on the real bundled models: TTS, ASR, VAD and the domain LM."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from pipeline.engines import tts
from pipeline.engines.asr import DecoderPool, Recognizer
from pipeline.engines.domain_lm import DomainLM, number_words, spoken_words
from pipeline.engines.vad import SpeechStarted, Utterance, UtteranceSegmenter
from tests.bench.wer import UTTERANCES, VOICE, measure, sample_domain, word_errors

pytest.importorskip("pocketsphinx")
pytest.importorskip("espeakng_loader")

# Measured on this subset (48 words): 8.3% with the stock LM, 10.4% re-ranked by the SOP domain
# model (the whole bench: ~11-13%). The margin absorbs library updates, not a broken pipeline.
WER_SUBSET = UTTERANCES[:10:2] + UTTERANCES[13:16]
MAX_SUBSET_WER = 25.0


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, "<i2").astype(np.float64) ** 2)))


@pytest.fixture(scope="module")
def pool() -> Iterator[DecoderPool]:
    yield DecoderPool(1)


# TTS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_tts_speaks_at_the_requested_rate(rate: int) -> None:
    pcm = tts.synthesize("Thank you for calling. How can I help you today?", rate)
    seconds = len(pcm) / 2 / rate
    assert 1.5 < seconds < 5.0
    assert rms(pcm) > 1000
    native = tts.synthesize_native("Thank you for calling. How can I help you today?")
    assert abs(seconds - len(native) / 2 / tts.NATIVE_RATE) < 0.01


async def test_tts_stream_chunks_sentences_at_fixed_size() -> None:
    text = "Your order has shipped. It arrives on Monday."
    chunks = [chunk async for chunk in tts.stream(text, 16000, chunk_ms=40)]
    assert all(len(chunk) == 1280 for chunk in chunks[:-1])
    assert 0 < len(chunks[-1]) <= 1280
    whole = sum(len(chunk) for chunk in chunks) / 2 / 16000
    assert 2.0 < whole < 5.0
    assert list(tts.sentences(text)) == ["Your order has shipped.", "It arrives on Monday."]


def test_voice_names_map_to_espeak_and_unknown_voices_fall_back() -> None:
    assert tts.espeak_voice("Tiffany") == "en-us+f3"
    assert tts.espeak_voice("en-us+klatt5") == "en-us+klatt5"
    assert rms(tts.synthesize("hello there", 16000, voice="no-such-voice")) > 1000


# ASR -----------------------------------------------------------------------------------


def test_asr_recognizes_synthesized_speech(pool: DecoderPool) -> None:
    silence = b"\0" * 6400
    pcm = silence + tts.synthesize("i want to return my order", 16000, VOICE) + silence
    assert Recognizer(pool).recognize(pcm) == "i want to return my order"


def test_asr_returns_nothing_for_silence_or_a_sliver(pool: DecoderPool) -> None:
    recognizer = Recognizer(pool)
    assert recognizer.recognize(b"") == ""
    assert recognizer.recognize(b"\0" * 640) == ""
    assert recognizer.recognize(b"\0" * 32000) == ""


def test_wer_stays_low_on_a_subset(pool: DecoderPool) -> None:
    """Regression guard for the bench (python -m tests.bench.wer), as the engine runs it."""
    score = measure(WER_SUBSET, Recognizer(pool, sample_domain()))
    assert score.wer <= MAX_SUBSET_WER, score.results


def test_word_errors_is_levenshtein_over_words() -> None:
    assert word_errors("a b c", "a b c") == 0
    assert word_errors("a b c", "a x c") == 1
    assert word_errors("a b c", "a c") == 1
    assert word_errors("a b", "a b c d") == 2
    assert word_errors("", "a") == 1


# domain language model -----------------------------------------------------------------


def test_domain_text_is_normalized_as_spoken() -> None:
    assert number_words(42) == "forty two"
    assert number_words(300) == "three hundred"
    assert number_words(2400) == "two four zero zero"
    assert spoken_words("Refunds within 30 days, email help@x.example!") == [
        "refunds",
        "within",
        "thirty",
        "days",
        "email",
    ]


def test_domain_model_prefers_its_own_phrasing() -> None:
    assert DomainLM.from_text("You are a helpful assistant.") is None
    model = sample_domain()
    assert model is not None
    in_domain = model.logprob(["i", "want", "a", "refund", "for", "my", "order"])
    garbled = model.logprob(["i", "want", "a", "refined", "for", "my", "border"])
    assert in_domain > garbled


# VAD -----------------------------------------------------------------------------------


def test_vad_cuts_one_utterance_after_trailing_silence() -> None:
    speech = tts.synthesize("what are your opening hours", 16000)
    stream = b"\0" * 16000 + speech + b"\0" * 32000
    segmenter = UtteranceSegmenter(end_silence_ms=600)
    events = [e for i in range(0, len(stream), 640) for e in segmenter.feed(stream[i : i + 640])]
    assert [type(e) for e in events] == [SpeechStarted, Utterance]
    utterance = events[1]
    assert isinstance(utterance, Utterance)
    assert len(speech) / 32 < utterance.duration_ms < len(speech) / 32 + 1000
    assert not segmenter.in_speech


def test_vad_ignores_a_short_blip() -> None:
    rng = np.random.default_rng(1)
    blip = (rng.normal(0, 6000, 1600)).clip(-32768, 32767).astype("<i2").tobytes()  # 100 ms
    segmenter = UtteranceSegmenter()
    assert segmenter.feed(b"\0" * 16000 + blip + b"\0" * 32000) == []

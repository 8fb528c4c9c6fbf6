"""Word error rate of the local ASR on a fixed set of synthesized contact-center utterances.

Run: .venv/bin/python -m tests.bench.wer [--general-only]

Each utterance is spoken by the local TTS at 16 kHz and recognized by the local ASR, once with
the stock language model alone and once re-ranked by a domain model built from the sample SOPs
in examples/sops (what the engine does with EngineConfig.system_prompt).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.engines import tts
from pipeline.engines.asr import DecoderPool, Recognizer
from pipeline.engines.domain_lm import DomainLM

# Fixed: changing this list changes the headline number.
UTTERANCES = (
    "i want to return my order",
    "what are your opening hours",
    "i need to reset my password",
    "can i speak to a person",
    "my order number is four five six",
    "where is my package",
    "i would like to cancel my subscription",
    "how much does shipping cost",
    "i was charged twice this month",
    "can you help me with my bill",
    "i want to change my delivery address",
    "is the store open on sunday",
    "my account is locked",
    "i did not receive a refund",
    "please transfer me to an agent",
    "the product arrived damaged",
    "how do i update my credit card",
    "yes that is correct",
    "no thank you that is all",
    "my phone number is five five five one two three four",
)
# Of espeak-ng's voices, the Klatt ones are those pocketsphinx's acoustic model hears best.
VOICE = "en-us+klatt5"
SOP_DIR = Path(__file__).resolve().parents[2] / "examples" / "sops"


def word_errors(reference: str, hypothesis: str) -> int:
    """Word-level Levenshtein distance: substitutions + insertions + deletions."""
    ref, hyp = reference.split(), hypothesis.split()
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row[0] = row[:], i
        for j, hyp_word in enumerate(hyp, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
    return row[-1]


@dataclass(frozen=True, slots=True)
class Result:
    reference: str
    hypothesis: str
    errors: int


@dataclass(frozen=True, slots=True)
class Score:
    results: tuple[Result, ...]

    @property
    def words(self) -> int:
        return sum(len(r.reference.split()) for r in self.results)

    @property
    def wer(self) -> float:
        return 100.0 * sum(r.errors for r in self.results) / max(1, self.words)


def sample_domain() -> DomainLM | None:
    """The domain model of the example SOPs, as a system prompt would carry them."""
    text = "\n\n".join(path.read_text() for path in sorted(SOP_DIR.glob("*.md")))
    return DomainLM.from_text(text)


def measure(utterances: tuple[str, ...], recognizer: Recognizer, voice: str = VOICE) -> Score:
    """Synthesize, pad with 200 ms of silence each side, recognize, and count errors."""
    silence = b"\0" * (16000 // 5 * 2)
    results = []
    for reference in utterances:
        pcm = silence + tts.synthesize(reference, 16000, voice) + silence
        hypothesis = recognizer.recognize(pcm)
        results.append(Result(reference, hypothesis, word_errors(reference, hypothesis)))
    return Score(tuple(results))


def _report(label: str, score: Score) -> None:
    print(f"\n{label}")
    for r in score.results:
        mark = " " if r.errors == 0 else str(r.errors)
        print(f"  {mark} {r.reference!r:58} -> {r.hypothesis!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--general-only", action="store_true", help="skip the domain model")
    parser.add_argument("--voice", default=VOICE, help=f"espeak-ng voice (default {VOICE})")
    args = parser.parse_args(argv)
    pool = DecoderPool(1)
    started = time.perf_counter()
    general = measure(UTTERANCES, Recognizer(pool), args.voice)
    _report("stock language model", general)
    summary = f"over {len(UTTERANCES)} utterances ({general.words} words)"
    if args.general_only:
        print(f"\nlocal ASR WER: {general.wer:.1f}% {summary}")
        return 0
    domain = measure(UTTERANCES, Recognizer(pool, sample_domain()), args.voice)
    _report("stock language model, n-best re-ranked by the example SOPs' domain model", domain)
    print(f"\nvoice {args.voice}, {time.perf_counter() - started:.1f} s")
    print(f"stock LM only: {general.wer:.1f}%; with SOP domain model: {domain.wer:.1f}%")
    print(f"local ASR WER: {domain.wer:.1f}% {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small trigram model of the agent's own words (its SOP), used to re-rank ASR hypotheses."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

_ONES = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SENTENCE_BREAK = re.compile(r"[\n.!?;:]+")
_NUMBER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^a-z' ]+")
_ADDRESS = re.compile(r"\S+@\S+|https?://\S+")
_BOS, _EOS = "<s>", "</s>"
MIN_WORDS = 50  # below this a prompt says too little about the domain to bias anything


def number_words(n: int) -> str:
    """How a caller says a number: 'forty two', 'three hundred', digit by digit when long."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if n < 10000 and n % 1000 == 0:
        return _ONES[n // 1000] + " thousand"
    return " ".join(_ONES[int(digit)] for digit in str(n))


def spoken_words(text: str) -> list[str]:
    """Lower-case words as a recognizer would write them (numbers spelled out, no symbols)."""
    text = _ADDRESS.sub(" ", text.lower().replace(",", ""))
    text = _NUMBER.sub(lambda m: " " + number_words(int(m.group())) + " ", text)
    return _NOT_WORD.sub(" ", text).split()


def sentences(text: str) -> list[list[str]]:
    """The text's sentences (and lines: SOP bullets) as word lists."""
    return [words for line in _SENTENCE_BREAK.split(text) if (words := spoken_words(line))]


class DomainLM:
    """Witten-Bell interpolated trigram over the domain text, floored for unseen words."""

    def __init__(self, corpus: Iterable[list[str]], floor: float = 1e-5) -> None:
        self._floor = floor
        self._counts: Counter[tuple[str, ...]] = Counter()  # n-gram -> count
        self._context: Counter[tuple[str, ...]] = Counter()  # history -> count
        self._followers: defaultdict[tuple[str, ...], set[str]] = defaultdict(set)
        self.words = 0
        for sentence in corpus:
            self.words += len(sentence)
            padded = [_BOS, _BOS, *sentence, _EOS]
            for i in range(2, len(padded)):
                word = padded[i]
                for order in range(3):
                    history = tuple(padded[i - order : i])
                    self._counts[(*history, word)] += 1
                    self._context[history] += 1
                    self._followers[history].add(word)

    @classmethod
    def from_text(cls, text: str, min_words: int = MIN_WORDS) -> DomainLM | None:
        """A model of `text`, or None when it is too short to say anything about the domain."""
        model = cls(sentences(text))
        return model if model.words >= min_words else None

    def _prob(self, history: tuple[str, str], word: str) -> float:
        prob = self._floor
        for order in range(3):
            context = history[2 - order :] if order else ()
            seen = self._context.get(context, 0)
            if seen:
                weight = seen / (seen + len(self._followers[context]))
                prob = weight * self._counts.get((*context, word), 0) / seen + (1 - weight) * prob
        return prob

    def logprob(self, words: list[str]) -> float:
        """Natural log probability of a whole utterance, sentence boundaries included."""
        padded = [_BOS, _BOS, *words, _EOS]
        return sum(
            math.log(self._prob((padded[i - 2], padded[i - 1]), padded[i]))
            for i in range(2, len(padded))
        )

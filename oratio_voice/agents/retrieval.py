"""Grounded retrieval over SOP documents: passages by heading, ranked with BM25."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_MARKUP = re.compile(r"(\*\*|__|`|\[|\]\([^)]*\)|^\s*[-*+]\s+|^\s*\d+[.)]\s+|^>\s*)", re.M)

STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be been before being below between
    both but by can could did do does doing down during each few for from further had has have
    having he her here hers him his how i if in into is it its itself just me more most my myself
    no nor not now of off on once only or other our ours out over own same she should so some
    such than that the their theirs them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your
    yours please hi hello hey thanks thank ok okay like want wanted need needs get got tell know
    let lets i'm i'd i've it's what's don't can't""".split()  # noqa: SIM905
)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'returns'/'returned'/'returning'."""
    for suffix in ("ing", "edly", "ed", "ies", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def terms(text: str) -> list[str]:
    """Content words of a text, lower-cased and stemmed."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph or list item."""
    return [s for s in _SENTENCE.split(text) if s.strip()]


def plain(text: str) -> str:
    """Markdown to speakable text."""
    return re.sub(r"\s+", " ", _MARKUP.sub("", text)).strip()


def units(text: str) -> list[str]:
    """Speakable units of a section: each list item, and each paragraph joined across lines."""
    found: list[str] = []
    paragraph: list[str] = []
    for line in [*text.splitlines(), ""]:
        is_item = bool(_ITEM.match(line))
        if not line.strip() or is_item:
            if paragraph:
                found.append(plain(" ".join(paragraph)))
                paragraph.clear()
            if is_item:
                found.append(plain(line))
        else:
            paragraph.append(line)
    return [u for u in found if u]


@dataclass(frozen=True, slots=True)
class Passage:
    """A section of one document: its heading path and body."""

    document: str
    heading: str
    text: str

    @property
    def topic(self) -> str:
        """The section's own heading (the last of its heading path)."""
        return self.heading.rpartition(" > ")[2]

    @property
    def source(self) -> str:
        return f"{self.document} § {self.heading}" if self.heading else self.document


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float


def split_passages(document: str, text: str) -> list[Passage]:
    """One passage per heading section (headings nest: 'Returns > Refunds')."""
    passages: list[Passage] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        content = "\n".join(body).strip()
        if content:
            heading = " > ".join(title for _, title in path)
            passages.append(Passage(document, heading, content))
        body.clear()

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path[:] = [(lvl, title) for lvl, title in path if lvl < level]
            path.append((level, plain(match.group(2))))
        else:
            body.append(line)
    flush()
    return passages


@dataclass
class SopIndex:
    """BM25 over passages. Small enough to rebuild per agent at start-up."""

    passages: list[Passage]
    k1: float = 1.5
    b: float = 0.75
    _tf: list[Counter[str]] = field(init=False, repr=False)
    _idf: dict[str, float] = field(init=False, repr=False)
    _df: Counter[str] = field(init=False, repr=False)
    _nested: set[str] = field(init=False, repr=False)
    _avg_len: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A section's own heading counts twice: it names what the section is about. A document
        # title above sections names the whole document, so it gets no such weight.
        self._nested = {p.document for p in self.passages if " > " in p.heading}
        self._tf = [
            Counter(terms(p.text if self.is_preamble(p) else f"{p.topic} {p.topic} {p.text}"))
            for p in self.passages
        ]
        n = len(self.passages) or 1
        self._df = Counter()
        for tf in self._tf:
            self._df.update(tf.keys())
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in self._df.items()}
        self._avg_len = sum(sum(tf.values()) for tf in self._tf) / n or 1.0

    @classmethod
    def from_documents(cls, documents: dict[str, str]) -> SopIndex:
        """Index documents of any text format (plain text gets headings first)."""
        from oratio_voice.agents.sop_markdown import to_markdown

        passages = [
            p for name, text in documents.items() for p in split_passages(name, to_markdown(text))
        ]
        return cls(passages)

    def search(self, query: str, k: int = 3) -> list[Hit]:
        query_terms = set(terms(query))
        hits = []
        for passage, tf in zip(self.passages, self._tf, strict=True):
            length = sum(tf.values())
            score = 0.0
            for term in query_terms & tf.keys():
                freq = tf[term]
                norm = freq + self.k1 * (1 - self.b + self.b * length / self._avg_len)
                score += self._idf[term] * freq * (self.k1 + 1) / norm
            if score > 0:
                hits.append(Hit(passage, score))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]

    def is_preamble(self, passage: Passage) -> bool:
        """The text under a document's title, before its sections: what the document is."""
        return " > " not in passage.heading and passage.document in self._nested

    def is_distinctive(self, term: str) -> bool:
        """True for a term found in one passage only."""
        return self._df.get(term, 0) == 1

    def best_sentences(self, query: str, passage: Passage, limit: int = 2) -> list[str]:
        """The sentences of a passage that answer the query best, in document order."""
        query_terms = set(terms(query))
        sentences = [s for unit in units(passage.text) for s in split_sentences(unit) if len(s) > 2]
        scored = [
            (sum(self._idf.get(t, 0.0) for t in query_terms & set(terms(s))), i, s)
            for i, s in enumerate(sentences)
        ]
        top = sorted((x for x in scored if x[0] > 0), reverse=True)[:limit]
        return [s for _, _, s in sorted(top, key=lambda x: x[1])] or sentences[:limit]

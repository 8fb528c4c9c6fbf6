"""SOP text shaping: plain text and PDF text get Markdown headings, sections get classified.

The offline parser (`sop_parser`) and the retrieval index read the same normalised Markdown,
so a section the parser calls 'Refunds' is the section retrieval cites."""

from __future__ import annotations

import re
from dataclasses import dataclass

from oratio_voice.agents.retrieval import Passage, split_passages, split_sentences, units
from oratio_voice.agents.sop_markdown import to_markdown

TONE = re.compile(r"\b(tone|voice|style|manner|etiquette|communication|persona)\b", re.I)
HOURS = re.compile(r"\b(hours|opening|open|availability|schedule|when we)\b", re.I)
ESCALATION = re.compile(
    r"escalat|hand\s?-?off|handover|hand over|transfer|human|supervisor|manager|live agent", re.I
)
FAQ = re.compile(r"\bfaqs?\b|frequently asked|common questions|questions|\bq\s*&\s*a\b", re.I)


@dataclass(frozen=True, slots=True)
class Section:
    """One heading section of a normalised SOP."""

    title: str  # the section's own heading ('' for text before any heading)
    path: str  # 'Document title > Section'
    body: str
    depth: int

    @property
    def units(self) -> list[str]:
        return units(self.body)

    def sentences(self) -> list[str]:
        return [s.strip() for u in self.units for s in split_sentences(u) if len(s.strip()) > 2]

    def source(self, document: str) -> str:
        return Passage(document, self.path, self.body).source


def sections_of(text: str) -> list[Section]:
    """Heading sections of an SOP in any text format."""
    found = []
    for passage in split_passages("", to_markdown(text)):
        depth = passage.heading.count(" > ") + 1 if passage.heading else 0
        found.append(Section(passage.topic, passage.heading, passage.text, depth))
    return found


__all__ = [
    "ESCALATION",
    "FAQ",
    "HOURS",
    "TONE",
    "Section",
    "sections_of",
]

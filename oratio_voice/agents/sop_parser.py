"""The offline SOP parser: headings, numbered steps, bullets, modal rules ('must', 'never',
'only', 'cannot'), escalation sections and FAQ pairs become a `SopSpec`, deterministically."""

from __future__ import annotations

import re

from oratio_voice.agents.retrieval import STOPWORDS, plain, split_sentences
from oratio_voice.agents.sop_markdown import to_markdown
from oratio_voice.agents.sop_text import ESCALATION, FAQ, HOURS, TONE, Section, sections_of
from oratio_voice.agents.spec import (
    DataField,
    Faq,
    HandoffCondition,
    KnowledgeSection,
    Procedure,
    Rule,
    RuleKind,
    SopSpec,
    slugify,
)

_STEP = re.compile(r"^\s*(\d+)[.)]\s+(.*)$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)]|[a-z][.)])\s+(.*)$")
_RULE_KINDS: list[tuple[RuleKind, re.Pattern[str]]] = [
    ("conditional", re.compile(r"^(if|when|whenever|unless|in case)\b.*,\s*\w+", re.I)),
    (
        "never",
        re.compile(
            r"\b(never|do not|don't|must not|mustn't|should not|shouldn't|may not|not allowed|"
            r"prohibited|forbidden)\b",
            re.I,
        ),
    ),
    ("cannot", re.compile(r"\b(cannot|can't|can not|not eligible|non-refundable)\b", re.I)),
    ("only", re.compile(r"\b(only|exclusively|solely)\b", re.I)),
    ("must", re.compile(r"\b(must|always|required|need to|needs to|has to|have to|shall)\b", re.I)),
    (
        "limit",
        re.compile(
            r"\b(within|up to|at least|at most|no more than|no later than|more than|less than|"
            r"maximum|minimum|over)\s+\$?\d",
            re.I,
        ),
    ),
]
_IMPERATIVE = re.compile(
    r"^(ask|collect|check|confirm|offer|tell|send|read|find|verify|trigger|explain|book|"
    r"schedule|cancel|apologi[sz]e|give|take|look up|record|create|issue|log|note|request|"
    r"search|update|reset|unlock|enter|open|advise|inform|remind|provide|make)\b",
    re.I,
)
_ASK_FOR = re.compile(
    r"\b(?:ask|request|collect|record|note down|take down|obtain|get)\b"
    r"(?:\s+(?:the|a)\s+(?:caller|customer|patient|user|client|employee|member|guest)s?)?"
    r"(?:\s+(?:for|about))?\s+(.+)",
    re.I,
)
_ASK_CLAUSE = re.compile(
    r"\bask(?:\s+(?:the|a)\s+\w+)?\s+(whether|which|what|when|where|why|how|if)\s+(.+)", re.I
)
_FIELD_CUT = re.compile(
    r"(?:[.;:(]|,\s*(?:or|then|so|but|find|offer|check|confirm|tell|read|send|verify)\b|"
    r"\s+(?:in a|in the|so that|to confirm|to check|to make|"
    r"from|on file|before|after|because|if)\b|\s+and\s+(?:check|confirm|offer|tell|ask|read|send|"
    r"find|verify|make|note|look|then|find)\b)",
    re.I,
)
_POSSESSIVE = re.compile(
    r"^(?:(?:the|a|an|their|his|her|your|its)\s+)?(?:(?:caller|customer|patient|user|client|"
    r"employee|member|guest)(?:'s|s'|\u2019s)\s+)?",
    re.I,
)
_AUX = frozenset({"is", "are", "was", "were", "be", "being", "been", "has", "have", "had", "does"})
_AUX |= {"do", "the", "a", "an"}
_PARTICIPLE = re.compile(r"\s+(?:used|given|provided|printed|shown|listed|associated)\b.*$", re.I)
_QUEUE = re.compile(
    r"\b(?:transfer|escalate|hand(?:\s|-)?(?:off|over)|route|pass|forward|connect|send)\b[^.:]*?"
    r"\bto\s+(?:the\s+|a\s+|an\s+|our\s+)?([\w\s'&/-]+?)(?:\s+queue|\s+line)?\s*(?:when|if|:|\.|,|$)",
    re.I,
)
_INLINE_HANDOFF = re.compile(
    r"\b(transfer|escalate|hand (?:it |the call |them )?(?:off|over)|put (?:them|the caller) "
    r"through|connect (?:them|the caller|the customer) (?:to|with)|pass the call)\b",
    re.I,
)
_CONDITION = re.compile(r"\b(?:when|if|whenever|unless)\b\s*(.+)$", re.I)
_DAY_OR_TIME = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?|"
    r"24 hours a day|24/7|around the clock)\b",
    re.I,
)
_QUESTION_PREFIX = re.compile(r"^\s*(?:q\s*[:.)-]|question\s*[:.)-])\s*", re.I)
_ANSWER_PREFIX = re.compile(r"^\s*(?:a\s*[:.)-]|answer\s*[:.)-])\s*", re.I)


def parse_sop(text: str, *, document: str = "sop") -> SopSpec:
    """Extract a specification from one SOP (Markdown, or plain text given headings)."""
    return parse_sops({document: text})


def parse_sops(documents: dict[str, str]) -> SopSpec:
    """Extract one specification from all of an agent's documents."""
    parser = _Parser()
    for name, text in documents.items():
        parser.read(name, to_markdown(text))
    return parser.spec()


class _Parser:
    def __init__(self) -> None:
        self.title = ""
        self.summary = ""
        self.tone: list[str] = []
        self.hours: list[str] = []
        self.procedures: list[Procedure] = []
        self.rules: list[Rule] = []
        self.faqs: list[Faq] = []
        self.handoffs: list[HandoffCondition] = []
        self.sections: list[KnowledgeSection] = []

    def spec(self) -> SopSpec:
        return SopSpec(
            title=self.title or "SOP assistant",
            summary=self.summary,
            tone=" ".join(self.tone),
            hours=self.hours,
            procedures=self.procedures,
            rules=self.rules,
            faqs=self.faqs,
            handoffs=self.handoffs,
            sections=self.sections,
        )

    def read(self, document: str, markdown: str) -> None:
        sections = sections_of(markdown)
        roots = {sec.path.split(" > ")[0] for sec in sections if sec.depth}
        nested = any(sec.depth > 1 for sec in sections)
        if not self.title:
            stem = re.sub(r"\.[A-Za-z0-9]+$", "", document).replace("-", " ").replace("_", " ")
            self.title = roots.pop() if len(roots) == 1 and nested else stem.strip().capitalize()
        for section in sections:
            if not self.summary and (section.depth == 0 or section.title == self.title):
                self.summary = " ".join(section.units[:1])
            self._read_section(section, section.source(document))

    def _read_section(self, section: Section, source: str) -> None:
        title = section.title
        if title and TONE.search(title):
            self.tone.append(plain(section.body))
            self._rules(section.sentences(), source)
            return
        if title and ESCALATION.search(title):
            self._escalation(section, source)
            return
        if title.endswith("?"):
            self.faqs.append(Faq(question=title, answer=" ".join(section.units), source=source))
            return
        if title and FAQ.search(title):
            self._faqs(section, source)
            return
        if title and HOURS.search(title):
            self.hours.extend(section.units)
        else:
            self.hours.extend(s for s in section.sentences() if _is_hours(s))
        self.sections.append(KnowledgeSection(title=title or self.title, text=section.body))
        self._procedure(section, source)
        self._rules(section.sentences(), source)
        self._inline_handoffs(section.sentences(), source)

    def _procedure(self, section: Section, source: str) -> None:
        steps = _numbered_steps(section.body)
        if len(steps) < 2:
            steps = [s for s in section.sentences() if _IMPERATIVE.match(s)]
            if not any(_ASK_FOR.search(s) or _ASK_CLAUSE.search(s) for s in steps):
                return
        name = _procedure_name(section)
        fields: dict[str, DataField] = {}
        for step in steps:
            for field in data_fields(step):
                fields.setdefault(field.name, field)
        self.procedures.append(
            Procedure(name=name, steps=steps, data_to_collect=list(fields.values()), source=source)
        )

    def _rules(self, sentences: list[str], source: str) -> None:
        known = {r.text for r in self.rules}
        for sentence in sentences:
            kind = rule_kind(sentence)
            if kind and sentence not in known and not _INLINE_HANDOFF.search(sentence):
                known.add(sentence)
                self.rules.append(
                    Rule(id=f"R{len(self.rules) + 1}", text=sentence, kind=kind, source=source)
                )

    def _escalation(self, section: Section, source: str) -> None:
        queue_match = _QUEUE.search(plain(section.body))
        queue = queue_match.group(1).strip() if queue_match else ""
        bullets = [
            m.group(1).strip() for line in section.body.splitlines() if (m := _BULLET.match(line))
        ]
        for text in bullets:
            self._add_handoff(plain(text), queue, source)
        if bullets:
            return
        for sentence in section.sentences():
            condition = _condition_of(sentence)
            if condition and not _introduces_list(sentence):
                own_queue = _QUEUE.search(sentence)
                self._add_handoff(condition, own_queue.group(1) if own_queue else queue, source)

    def _inline_handoffs(self, sentences: list[str], source: str) -> None:
        for sentence in sentences:
            if not _INLINE_HANDOFF.search(sentence):
                continue
            condition = _condition_of(sentence)
            if condition:
                queue_match = _QUEUE.search(sentence)
                self._add_handoff(condition, queue_match.group(1) if queue_match else "", source)

    def _add_handoff(self, text: str, queue: str, source: str) -> None:
        text = text.rstrip(".").strip()
        if text and all(h.text != text for h in self.handoffs):
            self.handoffs.append(
                HandoffCondition(
                    id=f"H{len(self.handoffs) + 1}", text=text, queue=queue.strip(), source=source
                )
            )

    def _faqs(self, section: Section, source: str) -> None:
        question = ""
        answer: list[str] = []
        for sentence in section.sentences():
            if sentence.endswith("?") or _QUESTION_PREFIX.match(sentence):
                if question and answer:
                    self.faqs.append(Faq(question=question, answer=" ".join(answer), source=source))
                question, answer = _QUESTION_PREFIX.sub("", sentence).strip(), []
            elif question:
                answer.append(_ANSWER_PREFIX.sub("", sentence).strip())
        if question and answer:
            self.faqs.append(Faq(question=question, answer=" ".join(answer), source=source))


def rule_kind(sentence: str) -> RuleKind | None:
    """The kind of business rule a sentence states, or None for a plain fact."""
    for kind, pattern in _RULE_KINDS:
        if pattern.search(sentence):
            if kind == "conditional" and not _imperative_consequence(sentence):
                continue
            if kind == "limit" and _IMPERATIVE.match(sentence):
                return None  # 'Tell them the label arrives within 10 minutes' is a step
            return kind
    return None


def _imperative_consequence(sentence: str) -> bool:
    """'If X, tell them Y' is an instruction; 'If X, the fee is Y' is a fact."""
    return any(
        _IMPERATIVE.match(part.strip()) or re.match(r"(do not|don't|never)\b", part.strip())
        for part in sentence.split(",")[1:]
    )


def _introduces_list(sentence: str) -> bool:
    return bool(re.search(r"\bwhen\s*:?$|:\s*$", sentence.strip()))


def _condition_of(sentence: str) -> str:
    """The 'when ...' part of 'Transfer the call when the caller is angry.'"""
    match = _CONDITION.search(sentence)
    if not match:
        return ""
    condition = match.group(1).strip().rstrip(".:")
    if sentence.lower().startswith(("if ", "when ")) and "," in condition:
        condition = condition.split(",", 1)[0]
    return condition


def _numbered_steps(body: str) -> list[str]:
    steps: list[str] = []
    continuing = False
    for line in body.splitlines():
        match = _STEP.match(line)
        if match:
            steps.append(plain(match.group(2)))
            continuing = True
        elif continuing and line.startswith((" ", "\t")) and line.strip():
            steps[-1] = f"{steps[-1]} {plain(line)}"
        else:
            continuing = False
    return steps


def _procedure_name(section: Section) -> str:
    intro = next((u for u in section.units if u.endswith(":")), "")
    name = section.title or intro.rstrip(":") or "Main procedure"
    return re.sub(r"^(to|how to)\s+", "", name, flags=re.I).strip().capitalize()


def data_fields(step: str) -> list[DataField]:
    """What a step asks the caller for: 'Ask for the full name and date of birth' -> two fields."""
    fields: list[DataField] = []
    for sentence in split_sentences(step):
        clause = _ASK_CLAUSE.search(sentence)
        if clause:
            text = _FIELD_CUT.split(f"{clause.group(1)} {clause.group(2)}")[0].strip()
            predicate = text
            if clause.group(1).lower() in {"whether", "if"}:
                predicate = re.split(r"\b(?:is|are|has|have|was|were)\b", text, maxsplit=1)[-1]
            words = [w for w in _words(predicate) if w not in STOPWORDS | _AUX]
            name = slugify(" ".join(words[:2]))
            if clause.group(1).lower() in {"whether", "if"}:
                name = f"whether_{name}"
            fields.append(DataField(name=name, description=text))
            continue
        ask = _ASK_FOR.search(sentence)
        if not ask or re.match(r"(to|them|him|her|it)\b", ask.group(1), re.I):
            continue
        phrase = _FIELD_CUT.split(ask.group(1))[0]
        for part in re.split(r",\s*(?:and\s+)?|\s+and\s+", phrase):
            description = _POSSESSIVE.sub("", part.strip()).strip()
            if not description or len(description.split()) > 8:
                continue
            core = _PARTICIPLE.sub("", description)
            words = [w for w in _words(core) if w not in _AUX][:4]
            while words and words[-1] in STOPWORDS:
                words.pop()
            if words:
                fields.append(DataField(name=slugify(" ".join(words)), description=description))
    return fields


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"['\u2019]s\b", "", text.lower()))


def _is_hours(sentence: str) -> bool:
    return bool(_DAY_OR_TIME.search(sentence)) and bool(
        re.search(
            r"\d{1,2}(:\d\d)?\s*(am|pm)\b|24 hours|24/7|around the clock|closed", sentence, re.I
        )
    )

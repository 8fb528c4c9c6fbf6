"""The offline SOP responder: answers a caller from the agent's documents, quoting the
passage it rests on, and recognises when the caller needs a person."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from oratio_voice.agents.base import AgentReply
from oratio_voice.agents.retrieval import Passage, SopIndex, terms

DecisionKind = Literal["empty", "handoff", "greeting", "thanks", "answer", "miss"]

_REQUEST_VERB = re.compile(
    r"\b(speak|talk|connect|transfer|put me through|get me|give me|want|need|see|reach)\b"
)
_ESCALATION_HEADING = re.compile(r"escalat|hand\s?-?off|handover|transfer|human|person", re.I)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b[\s!.,]*$", re.I)
_THANKS = re.compile(r"\b(thank(s| you)|that'?s (all|it|everything)|bye|goodbye)\b", re.I)
_GENERIC = frozenset(terms("customer caller user ask asks mention mentions request says wants"))
_NOT_TOPICS = frozenset({"tone", "overview", "purpose", "scope", "introduction"})
MIN_SCORE = 0.5
MAX_MISSES = 3


@dataclass
class Conversation:
    """What the responder remembers about one call."""

    turns: list[tuple[str, str]] = field(default_factory=list)
    misses: int = 0


@dataclass(frozen=True, slots=True)
class EscalationRule:
    """A handoff condition written in the SOP, e.g. '- The caller reports an injury'."""

    text: str
    terms: frozenset[str]

    def matches(self, message_terms: set[str], index: SopIndex) -> bool:
        """Two shared words, or one word that the SOP uses only in its escalation rules."""
        overlap = self.terms & message_terms
        return len(overlap) >= 2 or any(index.is_distinctive(t) for t in overlap)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the responder makes of one caller turn, before any words are chosen."""

    kind: DecisionKind
    reason: str = ""
    passage: Passage | None = None


def escalation_rule(text: str) -> EscalationRule | None:
    """A handoff condition as a matcher over its significant words."""
    significant = frozenset(terms(text)) - _GENERIC
    return EscalationRule(text.strip(), significant) if significant else None


def escalation_rules(index: SopIndex) -> list[EscalationRule]:
    """Bullet points under escalation/handoff headings become handoff conditions."""
    rules = []
    for passage in index.passages:
        if not _ESCALATION_HEADING.search(passage.heading):
            continue
        for line in passage.text.splitlines():
            bullet = _BULLET.match(line)
            rule = escalation_rule(bullet.group(1)) if bullet else None
            if rule:
                rules.append(rule)
    return rules


class SopResponder:
    """Grounded answers from SOP passages; handoff when asked or when the SOP says so."""

    def __init__(
        self,
        index: SopIndex,
        *,
        agent_name: str = "our assistant",
        handoff_phrases: list[str] | None = None,
        hand_over_line: str = "Let me connect you with a colleague who can help.",
        handoff_conditions: list[str] | None = None,
    ) -> None:
        """`handoff_conditions` (from a parsed specification) replace the conditions read
        from the SOP's escalation headings."""
        self.index = index
        self.agent_name = agent_name
        self.handoff_words = {w.lower() for w in (handoff_phrases or ["human", "person"])}
        self.hand_over_line = hand_over_line
        if handoff_conditions is None:
            self.rules = escalation_rules(index)
        else:
            self.rules = [r for c in handoff_conditions if (r := escalation_rule(c))]
        self._conversations: dict[str, Conversation] = {}

    def topics(self) -> list[str]:
        """A few subjects the SOP covers, for a helpful 'I can help with...'."""
        seen: dict[str, None] = {}
        for passage in self.index.passages:
            if " > " in passage.heading and not _ESCALATION_HEADING.search(passage.heading):
                topic = passage.topic.lower()
                if topic not in _NOT_TOPICS:
                    seen.setdefault(topic, None)
        return list(seen)[:3]

    def reply(self, session_id: str, message: str) -> AgentReply:
        conversation = self._conversations.setdefault(session_id, Conversation())
        answer = self._answer(conversation, message.strip())
        conversation.turns.append((message, answer.text))
        return answer

    def forget(self, session_id: str) -> None:
        self._conversations.pop(session_id, None)

    def decide(self, session_id: str, message: str) -> Decision:
        """Classify one caller turn (a handoff, an answerable question, small talk, a miss);
        counts misses, so a caller who is not being helped reaches a person."""
        conversation = self._conversations.setdefault(session_id, Conversation())
        return self._decide(conversation, message.strip())

    def quote(self, message: str, passage: Passage) -> AgentReply:
        """The grounded answer to a message from one passage."""
        return AgentReply(self._quote(message, passage), sources=[passage.source])

    def miss_line(self) -> str:
        topics = ", ".join(self.topics())
        hint = f" I can help with {topics}." if topics else ""
        return (
            f"I'm sorry, I don't have that in our guidelines.{hint} "
            "I can also connect you with a colleague."
        )

    def _decide(self, conversation: Conversation, message: str) -> Decision:
        lowered = message.lower()
        if not message:
            return Decision("empty")
        if self._asks_for_person(lowered):
            return Decision("handoff", "caller asked for a person")
        message_terms = set(terms(message))
        for rule in self.rules:
            if rule.matches(message_terms, self.index):
                return Decision("handoff", f"SOP rule: {rule.text}")
        if _GREETING.match(message):
            return Decision("greeting")
        if _THANKS.search(lowered) and len(message_terms) <= 3:
            return Decision("thanks")
        # A document's preamble and its tone section describe the SOP; they answer nothing.
        hits = [
            hit
            for hit in self.index.search(message, k=3)
            if hit.passage.topic.lower() not in _NOT_TOPICS
            and not self.index.is_preamble(hit.passage)
        ]
        if not hits or hits[0].score < MIN_SCORE:
            conversation.misses += 1
            if conversation.misses >= MAX_MISSES:
                return Decision("handoff", "the agent could not answer")
            return Decision("miss")
        conversation.misses = 0
        return Decision("answer", passage=hits[0].passage)

    def _answer(self, conversation: Conversation, message: str) -> AgentReply:
        decision = self._decide(conversation, message)
        if decision.kind == "handoff":
            return AgentReply(self.hand_over_line, handoff=decision.reason)
        if decision.kind == "answer" and decision.passage is not None:
            return self.quote(message, decision.passage)
        return AgentReply(self.small_talk(decision))

    def small_talk(self, decision: Decision) -> str:
        """The words for a turn that needs no SOP passage."""
        if decision.kind == "greeting":
            return f"Hello! This is {self.agent_name}. How can I help you?"
        if decision.kind == "thanks":
            return "You're welcome. Is there anything else I can help you with?"
        if decision.kind == "miss":
            return self.miss_line()
        return "Sorry, I didn't catch that. Could you say it again?"

    def _asks_for_person(self, lowered: str) -> bool:
        words = set(re.findall(r"[a-z]+", lowered))
        if not words & self.handoff_words:
            return False
        return bool(_REQUEST_VERB.search(lowered)) or len(words) <= 4

    def _quote(self, message: str, passage: Passage) -> str:
        sentences = " ".join(self.index.best_sentences(message, passage))
        return f"About {(passage.topic or 'that').lower()}: {sentences}"

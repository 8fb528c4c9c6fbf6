"""The offline SOP responder answers from the SOP, quotes it, and knows when to hand off."""

from __future__ import annotations

from pathlib import Path

import pytest

from oratio_voice.agents.responder import MAX_MISSES, SopResponder
from oratio_voice.agents.retrieval import SopIndex, split_passages, stem, units

SOPS = Path(__file__).resolve().parents[2] / "examples" / "sops"


def responder(name: str) -> SopResponder:
    index = SopIndex.from_documents({name: (SOPS / name).read_text()})
    return SopResponder(index, agent_name="Test", handoff_phrases=["human", "person", "agent"])


@pytest.mark.parametrize(
    ("sop", "question", "expected"),
    [
        ("retail-returns.md", "How many days do I have to return an item?", "30 days"),
        ("retail-returns.md", "When will I get my refund?", "5 to 7 business days"),
        ("retail-returns.md", "Can I exchange for a different size?", "free"),
        ("retail-returns.md", "Can I return socks?", "hygiene"),
        ("clinic-appointments.md", "What are your opening hours?", "7:30 am"),
        ("clinic-appointments.md", "Is there a fee if I cancel late?", "40 dollar"),
        ("it-password-reset.md", "How long must my new password be?", "14 characters"),
        ("it-password-reset.md", "My account is locked out", "30 minutes"),
        # not the document's preamble nor its tone section, though both mention booking
        ("clinic-appointments.md", "How do I book an appointment?", "full name"),
    ],
)
def test_answers_quote_the_sop(sop: str, question: str, expected: str) -> None:
    reply = responder(sop).reply("s", question)
    assert expected in reply.text
    assert not reply.handoff
    assert reply.sources and reply.sources[0].startswith(sop)


@pytest.mark.parametrize(
    ("sop", "message", "reason"),
    [
        ("retail-returns.md", "I want to talk to a person", "caller asked for a person"),
        ("retail-returns.md", "human please", "caller asked for a person"),
        ("retail-returns.md", "The lantern caused an injury", "SOP rule: The customer reports"),
        ("retail-returns.md", "I will file a chargeback", "SOP rule: The customer disputes"),
        ("clinic-appointments.md", "I need my test results", "SOP rule: The caller asks"),
        ("it-password-reset.md", "I clicked a phishing email", "SOP rule: The caller reports"),
    ],
)
def test_handoff_when_asked_or_when_the_sop_says_so(sop: str, message: str, reason: str) -> None:
    reply = responder(sop).reply("s", message)
    assert reply.handoff.startswith(reason)


def test_unknown_questions_are_admitted_then_handed_off() -> None:
    agent = responder("retail-returns.md")
    for _ in range(MAX_MISSES - 1):
        reply = agent.reply("s", "What is the weather on Mars?")
        assert "don't have that" in reply.text and not reply.handoff
        assert "return policy" in reply.text  # it says what it can help with
    assert agent.reply("s", "And the moon?").handoff == "the agent could not answer"
    assert not agent.reply("other-call", "What is the weather on Mars?").handoff


def test_a_good_answer_resets_the_miss_count() -> None:
    agent = responder("retail-returns.md")
    agent.reply("s", "What is the weather on Mars?")
    agent.reply("s", "What is the weather on Mars?")
    agent.reply("s", "When will I get my refund?")
    assert not agent.reply("s", "What is the weather on Mars?").handoff


def test_sections_nest_and_paragraphs_join_across_lines() -> None:
    text = "# Title\nIntro line\n## Refunds\nMoney goes back\nwithin 5 days.\n\n- one item\n"
    passages = split_passages("doc.md", text)
    assert [p.heading for p in passages] == ["Title", "Title > Refunds"]
    assert passages[1].topic == "Refunds"
    assert units(passages[1].text) == ["Money goes back within 5 days.", "one item"]
    assert stem("returns") == stem("returned") == stem("returning") == "return"


def test_an_empty_message_asks_again() -> None:
    assert "didn't catch" in responder("retail-returns.md").reply("s", "  ").text

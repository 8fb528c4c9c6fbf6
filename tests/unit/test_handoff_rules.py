"""The agent's handoff rules: paused, business hours, repeats, an upset caller."""

from __future__ import annotations

from datetime import UTC, datetime

from oratio_voice.handoff import summarize
from oratio_voice.handoff_rules import is_open, opening_reason, sentiment, turn_reason
from oratio_voice.models import Agent, AgentConfig, BusinessHours, Turn


def agent(**config: object) -> Agent:
    return Agent(tenant_id="t", name="A", config=AgentConfig.model_validate(config))


def caller(*texts: str) -> list[Turn]:
    return [
        Turn(tenant_id="t", session_id="s", seq=i, role="caller", text=text)
        for i, text in enumerate(texts)
    ]


MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_opening_reasons() -> None:
    assert opening_reason(agent(), MONDAY_NOON) == ""
    paused = agent().model_copy(update={"status": "paused"})
    assert opening_reason(paused, MONDAY_NOON) == "agent paused"
    weekdays = {"business_hours": {"timezone": "UTC", "days": {0: "09:00-17:00"}}}
    assert opening_reason(agent(**weekdays), MONDAY_NOON) == ""
    assert opening_reason(agent(**weekdays), MONDAY_NOON.replace(hour=18)) == (
        "outside business hours"
    )
    assert opening_reason(agent(**weekdays), MONDAY_NOON.replace(day=24)) == (
        "outside business hours"
    )


def test_business_hours_follow_the_time_zone() -> None:
    hours = BusinessHours(timezone="America/New_York", days={0: "09:00-17:00"})
    assert is_open(hours, MONDAY_NOON.replace(hour=15))  # 10:00 in New York
    assert not is_open(hours, MONDAY_NOON.replace(hour=13))  # 08:00 in New York


def test_a_caller_repeating_themselves_is_handed_off() -> None:
    a = agent()
    assert turn_reason(a, caller("where is my parcel", "where is my parcel")) == ""
    turns = caller("where is my parcel", "where is my parcel?", "WHERE is my parcel")
    assert turn_reason(a, turns) == "caller repeated themselves 3 times"
    assert turn_reason(a, caller("refund", "exchange", "hours")) == ""


def test_an_upset_caller_is_handed_off() -> None:
    assert turn_reason(agent(), caller("this is ridiculous and useless")) == "caller is upset"
    assert turn_reason(agent(), caller("the jacket is terrible")) == ""
    assert sentiment({"great", "thank"}) == 1.0


def test_summary_names_reason_and_what_the_caller_said() -> None:
    text = summarize(caller("my order is late", "I want a person"), "caller asked for a person")
    assert "caller asked for a person" in text and "my order is late" in text
    assert "I want a person" in text

"""The agent's own handoff rules, checked as the call goes: paused agent, business hours,
a caller repeating themselves, a caller getting upset."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from oratio_voice.agents.retrieval import terms
from oratio_voice.models import Agent, BusinessHours, Turn

NEGATIVE = frozenset(
    terms(
        "angry furious terrible awful ridiculous useless hate worst unacceptable scam stupid "
        "frustrated frustrating disappointed annoyed annoying rubbish pathetic horrible "
        "incompetent waste nonsense joke complaint lawyer sue"
    )
)
POSITIVE = frozenset(terms("thanks great good perfect helpful wonderful excellent appreciate"))
SIMILAR = 0.6


def opening_reason(agent: Agent, moment: datetime) -> str:
    """Why a call must go to a person before the AI says a word ('' if it need not)."""
    if agent.status == "paused":
        return "agent paused"
    if not is_open(agent.config.business_hours, moment):
        return "outside business hours"
    return ""


def is_open(hours: BusinessHours, moment: datetime) -> bool:
    if not hours.days:
        return True
    try:
        local = moment.astimezone(ZoneInfo(hours.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        local = moment
    span = hours.days.get(local.weekday())
    if not span:
        return False
    start, _, end = span.partition("-")
    return _clock(start) <= local.time() < _clock(end)


def _clock(text: str) -> time:
    hour, _, minute = text.strip().partition(":")
    return time(int(hour), int(minute or 0))


def turn_reason(agent: Agent, turns: list[Turn]) -> str:
    """Why the caller's latest turn means a person should take over ('' if it doesn't)."""
    said = [set(terms(t.text)) for t in turns if t.role == "caller"]
    rules = agent.config.handoff
    if len(said) >= rules.max_repeats > 1:
        last = said[-rules.max_repeats :]
        if all(_similar(last[0], other) for other in last[1:]):
            return f"caller repeated themselves {rules.max_repeats} times"
    if said and sentiment(said[-1]) <= rules.negative_sentiment_threshold:
        return "caller is upset"
    return ""


def sentiment(words: set[str]) -> float:
    """-1 (clearly upset) .. 1 (clearly pleased); 0 when there is too little to tell."""
    negative, positive = len(words & NEGATIVE), len(words & POSITIVE)
    if negative < 2 and positive == 0:
        return 0.0 if negative == 0 else -0.5
    return (positive - negative) / (positive + negative)


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a or b) and len(a & b) / len(a | b) >= SIMILAR

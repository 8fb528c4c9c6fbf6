"""Contact-center figures computed from sessions: calls per day, average duration, containment
(the AI finished the conversation) versus handoff, top handoff reasons, per channel."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from oratio_voice.models import CallSession

DETAIL = re.compile(r"\s*\(.*\)\s*$")  # "AI fault: engine unavailable (timeout)" -> without "(...)"
TOP_REASONS = 5


class DayCount(BaseModel):
    date: date
    total: int
    handoff: int


class ReasonCount(BaseModel):
    reason: str
    count: int


class ChannelStats(BaseModel):
    channel: str
    total: int
    handoff: int
    average_duration_seconds: float | None


class Analytics(BaseModel):
    days: int
    since: datetime
    total_sessions: int
    finished_sessions: int = Field(description="sessions that have ended (the rates' base)")
    calls_per_day: list[DayCount]
    average_duration_seconds: float | None
    containment_rate: float | None = Field(description="finished without a person, 0..1")
    handoff_rate: float | None = Field(description="handed to a person, 0..1")
    top_handoff_reasons: list[ReasonCount]
    by_channel: list[ChannelStats]


def reason_label(reason: str) -> str:
    return DETAIL.sub("", reason).strip() or "unspecified"


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _duration(session: CallSession) -> float | None:
    if session.ended_at is None:
        return None
    return max((session.ended_at - session.started_at).total_seconds(), 0.0)


def compute(sessions: Iterable[CallSession], *, days: int, since: datetime) -> Analytics:
    """Figures over `sessions` (those started since `since`, the start of a `days`-day span)."""
    sessions = list(sessions)
    per_day = {since.date() + timedelta(days=n): [0, 0] for n in range(days)}
    durations: list[float] = []
    channels: dict[str, list[CallSession]] = {}
    reasons: Counter[str] = Counter()
    finished = handed_off = 0
    for session in sessions:
        handoff = session.status == "handoff"
        counts = per_day.setdefault(session.started_at.date(), [0, 0])
        counts[0] += 1
        counts[1] += handoff
        channels.setdefault(session.channel, []).append(session)
        if handoff:
            reasons[reason_label(session.handoff_reason)] += 1
        if session.ended_at is not None:
            finished += 1
            handed_off += handoff
        if (duration := _duration(session)) is not None:
            durations.append(duration)
    by_channel = [
        ChannelStats(
            channel=channel,
            total=len(group),
            handoff=sum(s.status == "handoff" for s in group),
            average_duration_seconds=_average(
                [d for s in group if (d := _duration(s)) is not None]
            ),
        )
        for channel, group in sorted(channels.items(), key=lambda item: -len(item[1]))
    ]
    return Analytics(
        days=days,
        since=since,
        total_sessions=len(sessions),
        finished_sessions=finished,
        calls_per_day=[
            DayCount(date=day, total=total, handoff=handoff)
            for day, (total, handoff) in sorted(per_day.items())
        ],
        average_duration_seconds=_average(durations),
        containment_rate=round((finished - handed_off) / finished, 4) if finished else None,
        handoff_rate=round(handed_off / finished, 4) if finished else None,
        top_handoff_reasons=[
            ReasonCount(reason=reason, count=count)
            for reason, count in reasons.most_common(TOP_REASONS)
        ],
        by_channel=by_channel,
    )

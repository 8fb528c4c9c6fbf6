"""Validated, partial changes to an agent's configuration (PATCH /api/agents/{id}/config):
Nova Sonic voices and languages, E.164 numbers, handoff rules, business hours."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from oratio_voice.models import AgentConfig

# reference/nova-sonic.md: Nova Sonic v1 voices plus those Nova 2 adds.
NOVA_VOICES = frozenset(
    [
        "tiffany",
        "matthew",
        "amy",
        "ambre",
        "florian",
        "beatrice",
        "lorenzo",
        "greta",
        "lennart",
        "lupe",
        "carlos",
        "olivia",
        "tina",
        "carolina",
        "leo",
        "kiara",
        "arjun",
    ]
)
LANGUAGES = frozenset(
    ["en-US", "en-GB", "en-AU", "en-IN", "fr-FR", "it-IT", "de-DE", "es-US", "pt-BR", "hi-IN"]
)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SIP_URI = re.compile(r"^sips?:[^\s@]+@[^\s@]+$")
QUEUE_NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$"
HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _voice(value: str) -> str:
    voice = value.strip().lower()
    if voice not in NOVA_VOICES:
        raise ValueError(f"unknown voice {value!r}; choose one of {', '.join(sorted(NOVA_VOICES))}")
    return voice


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"unsupported language {value!r}; one of {', '.join(sorted(LANGUAGES))}")
    return value


def _phone(value: str) -> str:
    number = value.strip()
    if not E164.match(number):
        raise ValueError(f"{value!r} is not an E.164 phone number like +14155550100")
    return number


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("phone numbers must not repeat")
    return values


def _target(value: str) -> str:
    target = value.strip()
    if target and not (E164.match(target) or SIP_URI.match(target)):
        raise ValueError(f"{value!r} is neither an E.164 number nor a sip: URI")
    return target


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Europe/Paris)"
        ) from None
    return value


def _span(value: str) -> str:
    match = HOURS.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a span like 09:00-17:30")
    start, end = value.strip().split("-")
    if start >= end:
        raise ValueError(f"{value!r} ends before it starts (spans cannot cross midnight)")
    return value.strip()


Voice = Annotated[str, Field(max_length=32), AfterValidator(_voice)]
Language = Annotated[str, Field(max_length=16), AfterValidator(_language)]
Phone = Annotated[str, Field(max_length=20), AfterValidator(_phone)]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday")]
Span = Annotated[str, Field(max_length=16), AfterValidator(_span)]
DtmfDigit = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    def changes(self) -> dict[str, Any]:
        """Fields given with a value (null means 'leave unchanged')."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if isinstance(value, _Patch):
                out[name] = value.changes()
            elif value is not None:
                out[name] = value
        return out


class HandoffPatch(_Patch):
    queue: str | None = Field(None, min_length=1, max_length=64, pattern=QUEUE_NAME)
    target: Annotated[str, Field(max_length=256), AfterValidator(_target)] | None = Field(
        None, description="E.164 number or sip: URI to dial; empty: enqueue into `queue`"
    )
    warm: bool | None = None
    phrases: Annotated[list[Phrase], Field(max_length=50)] | None = None
    dtmf: dict[DtmfDigit, Literal["transfer"]] | None = None
    max_repeats: int | None = Field(None, ge=1, le=10)
    negative_sentiment_threshold: float | None = Field(None, ge=-1.0, le=0.0)
    hand_over_line: str | None = Field(None, min_length=1, max_length=500)


class BusinessHoursPatch(_Patch):
    timezone: Annotated[str, Field(max_length=64), AfterValidator(_timezone)] | None = None
    days: Annotated[dict[Weekday, Span], Field(description="weekday -> 'HH:MM-HH:MM'")] | None = (
        None
    )


class AgentConfigPatch(_Patch):
    voice: Voice | None = None
    greeting: str | None = Field(None, max_length=500)
    language: Language | None = None
    phone_numbers: Annotated[list[Phone], Field(max_length=20), AfterValidator(_unique)] | None = (
        None
    )
    handoff: HandoffPatch | None = None
    business_hours: BusinessHoursPatch | None = None
    record_calls: bool | None = None
    endpointing: Literal["HIGH", "MEDIUM", "LOW"] | None = None

    def apply(self, config: AgentConfig) -> AgentConfig:
        """The configuration with these changes; nested sections merge field by field."""
        merged = config.model_dump()
        for name, value in self.changes().items():
            if isinstance(value, dict) and name in ("handoff", "business_hours"):
                merged[name] = {**merged[name], **value}
            else:
                merged[name] = value
        return AgentConfig.model_validate(merged)

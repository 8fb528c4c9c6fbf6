"""The structured specification of an SOP and the agent plan drawn from it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RuleKind = Literal["must", "never", "only", "cannot", "limit", "conditional", "other"]


def slugify(text: str, *, sep: str = "_", limit: int = 48) -> str:
    """`Starting a return` -> `starting_a_return` (a valid Python identifier part)."""
    slug = sep.join(re.findall(r"[a-z0-9]+", text.lower()))[:limit].strip(sep)
    return slug or "item"


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataField(SpecModel):
    """One piece of information a procedure collects from the caller."""

    name: str = Field(description="snake_case identifier, e.g. order_number")
    description: str = Field(description="what it is, in the SOP's words")


class Procedure(SpecModel):
    """An intent the agent handles by following ordered steps."""

    name: str
    steps: list[str] = Field(min_length=1)
    data_to_collect: list[DataField] = Field(default_factory=list)
    source: str = ""

    @property
    def slug(self) -> str:
        return slugify(self.name)


class Rule(SpecModel):
    """A business rule or constraint the agent must obey."""

    id: str
    text: str
    kind: RuleKind = "other"
    source: str = ""


class Faq(SpecModel):
    question: str
    answer: str
    source: str = ""


class HandoffCondition(SpecModel):
    """When the SOP says a person must take over."""

    id: str
    text: str
    queue: str = ""
    source: str = ""


class KnowledgeSection(SpecModel):
    """Reference text (policies, prices, facts) answered by retrieval."""

    title: str
    text: str


class SopSpec(SpecModel):
    """Everything the generated agent must know and obey."""

    title: str
    summary: str = ""
    tone: str = ""
    hours: list[str] = Field(default_factory=list)
    procedures: list[Procedure] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    faqs: list[Faq] = Field(default_factory=list)
    handoffs: list[HandoffCondition] = Field(default_factory=list)
    sections: list[KnowledgeSection] = Field(default_factory=list)


class ToolPlan(SpecModel):
    """A tool the generated agent exposes to its model."""

    name: str = Field(description="Python identifier")
    kind: Literal["procedure", "retrieval", "handoff"]
    description: str
    procedure: str = ""  # the Procedure.name it serves
    parameters: list[str] = Field(default_factory=list)


class ScriptedTurn(SpecModel):
    """A conversation probe run against the generated agent before it is stored."""

    say: str
    expect_handoff: bool = False
    expect_quote: str = ""  # a few words the answer must contain (from the SOP)


class AgentPlan(SpecModel):
    """The blueprint for code generation; reviewed before any code is written."""

    agent_name: str
    system_prompt: str
    tools: list[ToolPlan]
    covered_rules: list[str] = Field(description="ids of spec rules the system prompt enforces")
    covered_handoffs: list[str] = Field(description="ids of handoff conditions wired to transfer")
    conversations: list[ScriptedTurn] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Review(SpecModel):
    """One review cycle's verdict on a plan."""

    cycle: int
    approved: bool
    issues: list[str] = Field(default_factory=list)
    reviewer: str = "quality-gate"

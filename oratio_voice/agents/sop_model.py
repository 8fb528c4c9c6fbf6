"""A Strands model provider that runs offline: it answers from the SOP by retrieval and follows
the specification's handoff conditions by calling the agent's tools, like a hosted model would.

The decisions come from the foundation's `SopResponder`; this class only speaks the Strands
streaming protocol (messageStart, contentBlock*, messageStop) and picks the tool to call."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any, TypeVar

from pydantic import BaseModel
from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from oratio_voice.agents.responder import SopResponder

T = TypeVar("T", bound=BaseModel)

RETRIEVAL_TOOL = "lookup_sop"
HANDOFF_TOOL = "transfer_to_human"
PROCEDURE_PREFIX = "Procedure: "


class SopModel(Model):
    """One conversation's offline model (it keeps that conversation's miss count)."""

    def __init__(self, responder: SopResponder, session_id: str = "default") -> None:
        self.responder = responder
        self.session_id = session_id
        self.config: dict[str, Any] = {"model_id": "oratio-sop-local"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    async def structured_output(
        self,
        output_model: type[T],
        prompt: Messages,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        raise NotImplementedError("the offline SOP model does not produce structured output")
        yield {}  # pragma: no cover - makes this an async generator

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        last = messages[-1] if messages else {"role": "user", "content": []}
        results = [block["toolResult"] for block in last["content"] if "toolResult" in block]
        if results:
            texts = [_say(item.get("text", "")) for r in results for item in r.get("content", [])]
            for event in _text_events(" ".join(t for t in texts if t)):
                yield event
            return
        message = " ".join(block["text"] for block in last["content"] if "text" in block)
        tools = {spec["name"]: spec for spec in tool_specs or []}
        name, arguments, text = self._next_move(message, tools)
        events = _tool_events(name, arguments) if name else _text_events(text)
        for event in events:
            yield event

    def _next_move(
        self, message: str, tools: dict[str, ToolSpec]
    ) -> tuple[str, dict[str, Any], str]:
        """(tool name, arguments, '') to call a tool, or ('', {}, text) to answer directly."""
        decision = self.responder.decide(self.session_id, message)
        if decision.kind == "handoff":
            if HANDOFF_TOOL in tools:
                return HANDOFF_TOOL, {"reason": decision.reason}, ""
            return "", {}, self.responder.hand_over_line
        if decision.kind == "answer" and decision.passage is not None:
            topic = decision.passage.topic.lower()
            # A question is answered from the SOP; a wish ("I want to return...") starts the
            # procedure whose section matched.
            for name, spec in ({} if _is_question(message) else tools).items():
                description = spec.get("description", "")
                if description.startswith(PROCEDURE_PREFIX):
                    procedure = description[len(PROCEDURE_PREFIX) :].split("\n", 1)[0]
                    if procedure.strip().rstrip(".").lower() == topic:
                        return name, {}, ""
            if RETRIEVAL_TOOL in tools:
                return RETRIEVAL_TOOL, {"query": message}, ""
            return "", {}, self.responder.quote(message, decision.passage).text
        return "", {}, self.responder.small_talk(decision)


_QUESTION = re.compile(
    r"\?\s*$|^(what|when|where|which|who|why|how|is|are|can|could|do|does|will|would|should)\b",
    re.I,
)


def _is_question(message: str) -> bool:
    return bool(_QUESTION.search(message.strip()))


def _say(tool_output: str) -> str:
    """Tools answer JSON with a 'say' field; anything else is spoken as it is."""
    try:
        data = json.loads(tool_output)
    except ValueError:
        return tool_output
    return str(data.get("say", "")) if isinstance(data, dict) else tool_output


def _text_events(text: str) -> list[StreamEvent]:
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {}}},
        {"contentBlockDelta": {"delta": {"text": text}}},
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]


def _tool_events(name: str, arguments: dict[str, Any]) -> list[StreamEvent]:
    tool_use_id = f"tooluse_{uuid.uuid4().hex[:16]}"
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": tool_use_id, "name": name}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(arguments)}}}},
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "tool_use"}},
    ]

"""What a generated agent package runs on: its SOP knowledge, the bodies of its tools, the
choice of model (offline SOP model, or Bedrock when configured) and the reply contract
{"text", "sources", "handoff"}. Generated `agent.py` files import this module."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from oratio_voice.agents.responder import SopResponder
from oratio_voice.agents.retrieval import SopIndex

MODEL_ENV = "ORATIO_AGENT_MODEL_ID"  # a Bedrock model id switches the agent to BedrockModel
REGION_ENV = "ORATIO_AGENT_REGION"
PORT_ENVS = ("ORATIO_AGENT_PORT", "PORT")
MAX_SESSIONS = 500
KNOWLEDGE_DIR = "knowledge"


class _State(Protocol):
    def get(self, key: str | None = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...


class _Agent(Protocol):
    state: _State

    def __call__(self, prompt: str) -> object: ...


def port_from_env(default: int = 8080) -> int:
    for name in PORT_ENVS:
        if os.environ.get(name):
            return int(os.environ[name])
    return default


class SopKit:
    """One generated agent's knowledge and tool bodies (shared by all of its sessions)."""

    def __init__(
        self,
        package_dir: Path | str,
        *,
        agent_name: str,
        handoff_conditions: list[str],
        procedures: dict[str, dict[str, Any]],
        hand_over_line: str = "Let me connect you with a colleague who can help.",
    ) -> None:
        folder = Path(package_dir) / KNOWLEDGE_DIR
        documents = {p.name: p.read_text("utf-8") for p in sorted(folder.glob("*.md"))}
        self.index = SopIndex.from_documents(documents)
        self.responder = SopResponder(
            self.index,
            agent_name=agent_name,
            hand_over_line=hand_over_line,
            handoff_conditions=handoff_conditions,
        )
        self.procedures = procedures
        self._sessions: OrderedDict[str, tuple[_Agent, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def model_for(self, session_id: str) -> Any:
        """Bedrock when ORATIO_AGENT_MODEL_ID names a model; the offline SOP model otherwise."""
        model_id = os.environ.get(MODEL_ENV, "")
        if model_id:
            from strands.models import BedrockModel

            region = os.environ.get(REGION_ENV) or os.environ.get("AWS_REGION") or "us-east-1"
            return BedrockModel(model_id=model_id, region_name=region, temperature=0.2)
        from oratio_voice.agents.sop_model import SopModel

        return SopModel(self.responder, session_id)

    # tool bodies -------------------------------------------------------------------------

    def lookup(self, query: str, state: _State) -> str:
        hits = self.index.search(query, k=1)
        if not hits or hits[0].score < 0.5:
            return json.dumps({"say": self.responder.miss_line(), "sources": []})
        reply = self.responder.quote(query, hits[0].passage)
        _add_sources(state, reply.sources)
        return json.dumps({"say": reply.text, "sources": reply.sources})

    def procedure(self, tool_name: str, provided: dict[str, str], state: _State) -> str:
        info = self.procedures[tool_name]
        fields: dict[str, str] = info.get("fields", {})
        missing = [
            desc for param, desc in fields.items() if not str(provided.get(param, "")).strip()
        ]
        name = str(info["name"])
        _add_sources(state, [str(info.get("source", ""))] if info.get("source") else [])
        steps: list[str] = list(info.get("steps", []))
        if not fields:
            say = f"Here is how {name.lower()} works: {' '.join(steps[:3])}"
        elif missing:
            wanted = _join(missing)
            say = f"I can help with {name.lower()}. I'll need the {wanted}. "
            say += f"Could you give me the {missing[0]}?"
        else:
            say = f"Thank you, I have everything I need for {name.lower()}."
            if steps:
                say += f" Next: {steps[-1]}"
        return json.dumps({"say": say, "procedure": name, "missing": missing})

    def transfer(self, reason: str, state: _State) -> str:
        state.set("handoff", reason or "the caller needs a person")
        return json.dumps({"say": self.responder.hand_over_line, "handoff": reason})

    # the entrypoint ----------------------------------------------------------------------

    def invoke(
        self, payload: object, session_id: str, make_agent: Callable[[str], _Agent]
    ) -> dict[str, Any]:
        """One caller turn through the session's Strands agent -> {"text","sources","handoff"}."""
        prompt = prompt_of(payload)
        agent, lock = self._session(session_id or "default", make_agent)
        with lock:
            for key in ("sources", "handoff"):
                agent.state.delete(key)
            result = agent(prompt)
            return {
                "text": str(result).strip(),
                "sources": list(agent.state.get("sources") or []),
                "handoff": str(agent.state.get("handoff") or ""),
            }

    def _session(
        self, session_id: str, make_agent: Callable[[str], _Agent]
    ) -> tuple[_Agent, threading.Lock]:
        with self._lock:
            if session_id in self._sessions:
                self._sessions.move_to_end(session_id)
                return self._sessions[session_id]
            entry = (make_agent(session_id), threading.Lock())
            self._sessions[session_id] = entry
            while len(self._sessions) > MAX_SESSIONS:
                old_id, _ = self._sessions.popitem(last=False)
                self.responder.forget(old_id)
            return entry


def prompt_of(payload: object) -> str:
    """The caller's words from an invocation payload ({"prompt": ...}; "message"/"text" too)."""
    from starlette.exceptions import HTTPException

    if isinstance(payload, dict):
        for key in ("prompt", "message", "text", "inputText"):
            value = payload.get(key)
            if isinstance(value, str):
                return value
    raise HTTPException(400, 'the payload must be a JSON object with a "prompt" string')


def _add_sources(state: _State, sources: list[str]) -> None:
    known = list(state.get("sources") or [])
    state.set("sources", known + [s for s in sources if s and s not in known])


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"

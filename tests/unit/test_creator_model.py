"""The offline Strands model provider driving a generated agent's tools, in-process; the
Bedrock switch; the CLI helper's progress display."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from strands import Agent

from oratio_voice.agents.build_cli import run_build_cli
from oratio_voice.agents.codegen import REQUIREMENTS, render_agent
from oratio_voice.agents.package import write_package
from oratio_voice.agents.planner import draft_plan
from oratio_voice.agents.sop_kit import MODEL_ENV, SopKit
from oratio_voice.agents.sop_model import SopModel
from oratio_voice.agents.sop_parser import parse_sop

SOPS = Path(__file__).resolve().parents[2] / "examples" / "sops"


def _load_agent(folder: Path, sop: str) -> ModuleType:
    text = (SOPS / sop).read_text()
    spec = parse_sop(text, document=sop)
    files = {
        "agent.py": render_agent(spec, draft_plan(spec, agent_name="Test")).encode(),
        "requirements.txt": REQUIREMENTS.encode(),
        f"knowledge/{Path(sop).stem}.md": text.encode(),
    }
    path = write_package(files, folder)
    module_spec = importlib.util.spec_from_file_location(f"agent_{folder.name}", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_sop_model_calls_procedure_retrieval_and_transfer_tools(tmp_path: Path) -> None:
    agent_module = _load_agent(tmp_path, "clinic-appointments.md")
    agent = agent_module.make_agent("call-1")
    assert isinstance(agent, Agent) and isinstance(agent.model, SopModel)
    assert set(agent.tool_names) == {
        "booking_a_new_appointment",
        "rescheduling_and_cancellation",
        "lookup_sop",
        "transfer_to_human",
    }

    def ask(message: str, session: str = "call-1") -> dict[str, object]:
        reply = agent_module.invoke({"prompt": message}, SimpleNamespace(session_id=session))
        assert isinstance(reply, dict)
        return reply

    booking = ask("I'd like help booking a new appointment")
    assert "full name" in str(booking["text"]) and booking["handoff"] == ""
    used = [
        block["toolUse"]["name"]
        for message in agent_module.KIT._sessions["call-1"][0].messages
        for block in message["content"]
        if "toolUse" in block
    ]
    assert used == ["booking_a_new_appointment"]
    fee = ask("Is there a fee if I cancel late?")
    assert "40 dollar late-cancellation fee" in str(fee["text"])
    assert fee["sources"] == [
        "clinic-appointments.md § Riverside Family Clinic: Appointment Booking SOP > "
        "Rescheduling and cancellation"
    ]
    results = ask("Can I get my blood test results?", session="call-2")
    assert results["handoff"] == (
        "SOP rule: The caller asks for test results or a prescription refill"
    )
    assert results["text"] == "Let me connect you with a colleague who can help."
    misses = [ask("Do you sell bicycles?", session="call-3") for _ in range(3)]
    assert [bool(m["handoff"]) for m in misses] == [False, False, True]


def test_procedure_tool_asks_for_what_is_missing(tmp_path: Path) -> None:
    agent_module = _load_agent(tmp_path, "retail-returns.md")
    kit: SopKit = agent_module.KIT
    state = SimpleNamespace(values={})
    state.get = lambda key=None: state.values.get(key)
    state.set = lambda key, value: state.values.__setitem__(key, value)
    said = json.loads(kit.procedure("starting_a_return", {"order_number": "NW12345678"}, state))
    assert said["missing"] == [
        "email address used for the order",
        "which items are being returned and why",
    ]
    assert said["say"].endswith("Could you give me the email address used for the order?")
    done = json.loads(
        kit.procedure(
            "exchanges", {"order_number": "NW1", "item": "tent", "size_or_colour": "XL"}, state
        )
    )
    assert done["missing"] == [] and "everything I need" in done["say"]


def test_a_bedrock_model_id_switches_the_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_module = _load_agent(tmp_path, "it-password-reset.md")
    monkeypatch.setenv(MODEL_ENV, "anthropic.claude-3-5-haiku-20241022-v1:0")
    monkeypatch.setenv("ORATIO_AGENT_REGION", "eu-west-1")
    model = agent_module.KIT.model_for("s")
    from strands.models import BedrockModel

    assert isinstance(model, BedrockModel)
    assert model.get_config()["model_id"] == "anthropic.claude-3-5-haiku-20241022-v1:0"


def test_run_build_cli_prints_progress_by_stage(tmp_path: Path) -> None:
    out = io.StringIO()
    code = run_build_cli(
        [SOPS / "it-password-reset.md"], "Contoso desk", tmp_path, agent_id="agt_it", out=out
    )
    lines = out.getvalue().splitlines()
    assert code == 0
    assert any("[4/7] review" in line and "cycle 2 approved" in line for line in lines)
    assert lines[-1].startswith("built 'Contoso desk' version 1 (agt_it): 2 procedures")
    assert (tmp_path / "blobs/ten_local/agents/agt_it/versions/1/agent.py").exists()
    out = io.StringIO()
    assert run_build_cli([SOPS / "nope.md"], "x", tmp_path, out=out) == 2
    bad = tmp_path / "scan.md"
    bad.write_bytes(b"")
    out = io.StringIO()
    assert run_build_cli([bad], "x", tmp_path, out=out) == 1
    assert out.getvalue().splitlines()[-1] == "build failed at intake: scan.md: the file is empty"

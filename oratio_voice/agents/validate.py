"""Validation of generated agent code: it parses, has the required structure, imports in a
separate process, and plays the plan's scripted conversations correctly."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oratio_voice.agents.codegen import identifier
from oratio_voice.agents.package import write_package
from oratio_voice.agents.spec import AgentPlan, SopSpec

ALLOWED_IMPORTS = frozenset(
    {"__future__", "pathlib", "typing", "json", "os", "bedrock_agentcore", "strands"}
    | {"oratio_voice.agents.sop_kit"}
)
CHECK_TIMEOUT = 120.0


@dataclass
class ValidationReport:
    failures: list[str] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _decorator_names(node: ast.FunctionDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.add(ast.unparse(target))
    return names


def check_structure(code: str, spec: SopSpec, plan: AgentPlan) -> list[str]:
    """Static checks; an empty list means the code has every required part."""
    try:
        tree = ast.parse(code, filename="agent.py")
    except SyntaxError as exc:
        return [f"agent.py does not parse: line {exc.lineno}: {exc.msg}"]
    failures: list[str] = []
    imports: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imports.add(node.module or "")
        elif isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
    failures.extend(
        f"agent.py imports {m!r}, which is not allowed" for m in sorted(imports - ALLOWED_IMPORTS)
    )
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    tools = {name for name, fn in functions.items() if "tool" in _decorator_names(fn)}
    if "BedrockAgentCoreApp" not in ast.unparse(tree):
        failures.append("no BedrockAgentCoreApp")
    if not any("app.entrypoint" in _decorator_names(fn) for fn in functions.values()):
        failures.append("no @app.entrypoint function")
    if not any(isinstance(n, ast.Call) and ast.unparse(n.func) == "Agent" for n in ast.walk(tree)):
        failures.append("no strands Agent is built")
    required = {identifier(t.name) for t in plan.tools if t.kind == "procedure"}
    required |= {"lookup_sop", "transfer_to_human"}
    failures.extend(f"missing tool {name}()" for name in sorted(required - tools))
    conditions = _literal(tree, "HANDOFF_CONDITIONS")
    if not isinstance(conditions, list):
        failures.append("HANDOFF_CONDITIONS is not a list literal")
    else:
        failures.extend(
            f"transfer_to_human is not wired to handoff condition {h.id}: {h.text}"
            for h in spec.handoffs
            if h.text not in conditions
        )
    if "__main__" not in code or "app.run(" not in code:
        failures.append("no `if __name__ == '__main__': app.run(...)` block")
    return failures


def _literal(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return None
    return None


async def run_package(
    files: dict[str, bytes], turns: list[dict[str, Any]], *, timeout: float = CHECK_TIMEOUT
) -> dict[str, Any]:
    """Write the package to a temporary folder and import it in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="oratio-agent-") as folder:
        await asyncio.to_thread(write_package, files, Path(folder))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_AGENT_MODEL")}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "oratio_voice.agents.package_check",
            folder,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=folder,
            env=env,
        )
        try:
            out, err = await asyncio.wait_for(
                process.communicate(json.dumps(turns).encode()), timeout
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            return {"imported": False, "error": f"import timed out after {timeout:.0f} s"}
    marker = out.decode("utf-8", "replace").rpartition("@@REPORT@@")[2]
    try:
        report: dict[str, Any] = json.loads(marker)
    except ValueError:
        tail = err.decode("utf-8", "replace")[-600:]
        return {"imported": False, "error": f"the check process failed: {tail}"}
    return report


async def validate_package(
    files: dict[str, bytes], spec: SopSpec, plan: AgentPlan, *, timeout: float = CHECK_TIMEOUT
) -> ValidationReport:
    code = files["agent.py"].decode("utf-8")
    report = ValidationReport(failures=check_structure(code, spec, plan))
    if report.failures:
        return report
    turns = [t.model_dump() for t in plan.conversations]
    result = await run_package(files, turns, timeout=timeout)
    if not result.get("imported"):
        report.failures.append(f"agent.py does not import: {result.get('error', '')}".strip())
        return report
    if result.get("error"):
        report.failures.append(str(result["error"]))
    for turn, outcome in zip(plan.conversations, result.get("turns", []), strict=False):
        reply = outcome.get("reply") or {}
        report.conversations.append({"say": turn.say, "reply": reply})
        if outcome.get("error"):
            report.failures.append(f"{turn.say!r} raised: {outcome['error'].splitlines()[-1]}")
        elif not str(reply.get("text", "")).strip():
            report.failures.append(f"{turn.say!r} got an empty answer")
        elif turn.expect_handoff != bool(reply.get("handoff")):
            want = "a handoff" if turn.expect_handoff else "no handoff"
            report.failures.append(f"{turn.say!r} should get {want}, got {reply}")
        elif turn.expect_quote and turn.expect_quote.lower() not in str(reply["text"]).lower():
            report.failures.append(f"{turn.say!r} should quote {turn.expect_quote!r}")
    return report

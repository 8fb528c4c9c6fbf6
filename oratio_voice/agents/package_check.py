"""Run in a separate process by the validator: import a generated agent.py and play scripted
turns through its entrypoint. Reads the turns as JSON on stdin, prints a JSON report.

    python -m oratio_voice.agents.package_check PACKAGE_DIR < turns.json
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class _Context:
    session_id: str


def check(package_dir: Path, turns: list[dict[str, Any]]) -> dict[str, Any]:
    path = package_dir / "agent.py"
    try:
        spec = importlib.util.spec_from_file_location("generated_agent", path)
        if spec is None or spec.loader is None:
            return {"imported": False, "error": f"cannot load {path}", "turns": []}
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except BaseException:
        return {"imported": False, "error": traceback.format_exc(limit=4), "turns": []}
    invoke = getattr(module, "invoke", None)
    if not callable(invoke):
        return {"imported": True, "error": "agent.py has no invoke entrypoint", "turns": []}
    results = []
    for number, turn in enumerate(turns):
        try:
            reply = invoke({"prompt": turn["say"]}, _Context(f"probe-{number}"))
            results.append({"say": turn["say"], "reply": reply, "error": ""})
        except Exception:
            results.append(
                {"say": turn["say"], "reply": {}, "error": traceback.format_exc(limit=3)}
            )
    return {"imported": True, "error": "", "turns": results}


def main() -> None:
    turns = json.loads(sys.stdin.read() or "[]")
    report = check(Path(sys.argv[1]), turns)
    sys.stdout.write("\n@@REPORT@@" + json.dumps(report, default=str) + "\n")


if __name__ == "__main__":
    main()

"""The AgentCore direct-code zip: the version's files, the vendored oratio_voice closure of
agent.py and the requirements installed for Linux ARM64 / Python 3.13 (the installer is faked:
no PyPI in tests). The vendored modules must import on their own, without the rest of the
product."""

from __future__ import annotations

import io
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from oratio_voice.agents import bundle
from oratio_voice.agents.bundle import BundleError, bundle_package, deployable_requirements
from oratio_voice.agents.codegen import REQUIREMENTS, render_agent
from oratio_voice.agents.planner import draft_plan
from oratio_voice.agents.sop_parser import parse_sop

SOPS = Path(__file__).resolve().parents[2] / "examples" / "sops"
UV = ["/opt/uv"]
CLOSURE = {
    "oratio_voice/__init__.py",
    "oratio_voice/agents/__init__.py",
    "oratio_voice/agents/base.py",
    "oratio_voice/agents/responder.py",
    "oratio_voice/agents/retrieval.py",
    "oratio_voice/agents/sop_kit.py",
    "oratio_voice/agents/sop_markdown.py",
    "oratio_voice/agents/sop_model.py",
}


def _files() -> dict[str, bytes]:
    text = (SOPS / "retail-returns.md").read_text()
    spec = parse_sop(text, document="retail-returns.md")
    return {
        "agent.py": render_agent(spec, draft_plan(spec, agent_name="Returns")).encode(),
        "requirements.txt": b"oratio-voice[creator]\n" + REQUIREMENTS.encode(),
        "knowledge/retail-returns.md": text.encode(),
        "manifest.json": b"{}",
    }


class FakeInstaller:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.requirements = ""

    def __call__(self, command: list[str]) -> None:
        self.commands.append(command)
        self.requirements = Path(command[command.index("-r") + 1]).read_text()
        target = Path(command[command.index("--target") + 1])
        (target / "fakedep").mkdir()
        (target / "fakedep" / "__init__.py").write_text("VALUE = 1\n")
        (target / "fakedep-1.0.dist-info").mkdir()
        (target / "fakedep-1.0.dist-info" / "METADATA").write_text("Name: fakedep\n")
        (target / "bin").mkdir()
        (target / "bin" / "fakedep").write_text("#!/bin/sh\n")
        (target / "bin" / "fakedep").chmod(0o755)
        (target / "fakedep" / "__pycache__").mkdir()
        (target / "fakedep" / "__pycache__" / "x.pyc").write_bytes(b"")


def test_bundle_vendors_the_closure_and_installs_for_arm64(tmp_path: Path) -> None:
    installer = FakeInstaller()
    blob = bundle_package(_files(), install=installer, uv=UV)

    [command] = installer.commands
    target, requirements = command[command.index("--target") + 1], command[-1]
    assert command == [
        *UV,
        "pip",
        "install",
        "--python-platform",
        "aarch64-manylinux2014",
        "--python-version",
        "3.13",
        "--target",
        target,
        "--only-binary=:all:",
        "-r",
        requirements,
    ]
    assert "oratio-voice" not in installer.requirements
    assert "strands-agents>=1.0" in installer.requirements

    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        names = set(archive.namelist())
        assert archive.read("agent.py") == _files()["agent.py"]
        assert {n for n in names if n.startswith("oratio_voice/")} == CLOSURE
        assert archive.read("oratio_voice/__init__.py") == bundle.STUB_INIT
        assert {
            "requirements.txt",
            "manifest.json",
            "knowledge/retail-returns.md",
            "fakedep/__init__.py",
            "fakedep-1.0.dist-info/METADATA",
            "bin/fakedep",
        } <= names
        assert not any("__pycache__" in n for n in names)
        modes = {i.filename: i.external_attr >> 16 & 0o777 for i in archive.infolist()}
        assert (modes["agent.py"], modes["bin/fakedep"]) == (0o644, 0o755)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        archive.extractall(tmp_path / "unzipped")
    # Deterministic: the same version gives the same bytes.
    assert bundle_package(_files(), install=FakeInstaller(), uv=UV) == blob

    # `import agent` from the unzipped folder, with only the venv's site-packages for
    # third-party deps (-S: no .pth files, so the editable oratio_voice is not on the path).
    unzipped = tmp_path / "unzipped"
    paths = [str(unzipped), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    probe = (
        f"import sys; sys.path[:0] = {paths!r}\n"
        "import agent, fakedep\n"
        "mods = {n: m.__file__ for n, m in sys.modules.items() if n.startswith('oratio_voice')}\n"
        f"assert all(f.startswith({str(unzipped)!r}) for f in mods.values()), mods\n"
        "assert agent.KIT is not None and fakedep.VALUE == 1\n"
        "print(len(agent.TOOLS), sorted(mods))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=unzipped,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "oratio_voice.store" not in done.stdout and "oratio_voice.app" not in done.stdout


def test_bundle_without_requirements_skips_the_installer() -> None:
    installer = FakeInstaller()
    blob = bundle_package({"agent.py": b"print('hi')\n"}, install=installer, uv=UV)
    assert installer.commands == []
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.namelist() == ["agent.py"]


def test_requirements_drop_oratio_voice_itself() -> None:
    text = "# c\noratio-voice[creator]\nOratio_Voice>=0.1\nstrands-agents>=1.0\n"
    assert deployable_requirements(text) == "# c\nstrands-agents>=1.0\n"


def test_oversized_bundle_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "MAX_UNZIPPED", 10)
    with pytest.raises(BundleError, match="unzipped limit"):
        bundle_package({"agent.py": b"x = 1\n" * 10}, install=FakeInstaller(), uv=UV)
    monkeypatch.setattr(bundle, "MAX_UNZIPPED", 10**9)
    monkeypatch.setattr(bundle, "MAX_ZIPPED", 10)
    with pytest.raises(BundleError, match="over AgentCore's"):
        bundle_package({"agent.py": b"x = 1\n" * 10}, install=FakeInstaller(), uv=UV)

"""The deployable zip of an agent version for AgentCore direct code deployment.

AgentCore runs the zip as-is (Linux ARM64, Python 3.13) and installs nothing: the entry point,
the `oratio_voice` modules it imports and every third-party dependency must sit at the zip's
root. So the bundle holds the version's files, a vendored copy of exactly the `oratio_voice`
modules `agent.py` reaches (package `__init__`s are stubs that import nothing else), and its
requirements installed for the target platform as AWS documents it:

    uv pip install --python-platform aarch64-manylinux2014 --python-version 3.13 \\
        --target=deployment_package --only-binary=:all: -r requirements.txt
"""

from __future__ import annotations

import ast
import importlib.util
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from oratio_voice.agents.package import write_package

PYTHON_PLATFORM = "aarch64-manylinux2014"
PYTHON_VERSION = "3.13"
# AgentCore quotas, not adjustable: direct code deployment package 250 MB zipped, 750 MB unzipped.
MAX_ZIPPED = 250 * 1024 * 1024
MAX_UNZIPPED = 750 * 1024 * 1024
PACKAGE = "oratio_voice"
STUB_INIT = b'"""Vendored subset of Oratio Voice: only the modules a generated agent imports."""\n'
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SELF_REQUIREMENT = re.compile(r"^\s*oratio[-_.]voice\b", re.I)

Installer = Callable[[list[str]], None]
"""Runs one install command (the default runs it as a subprocess)."""


class BundleError(Exception):
    """The version cannot be made into a deployable zip."""


def default_uv() -> list[str]:
    """`python -m uv` when uv is installed as a module, else the `uv` executable."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    return [shutil.which("uv") or "uv"]


def run_installer(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BundleError(f"uv is needed to bundle an agent: {exc}") from exc
    except subprocess.CalledProcessError as exc:
        raise BundleError(f"installing the agent's requirements failed: {exc.stderr}") from exc


def install_command(uv: Sequence[str], target: Path, requirements: Path) -> list[str]:
    return [
        *uv,
        "pip",
        "install",
        "--python-platform",
        PYTHON_PLATFORM,
        "--python-version",
        PYTHON_VERSION,
        "--target",
        str(target),
        "--only-binary=:all:",
        "-r",
        str(requirements),
    ]


def _imported(source: str) -> set[str]:
    """Absolute module names under `oratio_voice` this source imports (lazy imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n == PACKAGE or n.startswith(f"{PACKAGE}.")}


def module_closure(source: str, root: Path | None = None) -> dict[str, Path]:
    """Module name -> source file, for every `oratio_voice` module `source` reaches."""
    base = (root or Path(__file__).resolve().parents[2]).resolve()
    found: dict[str, Path] = {}
    pending = sorted(_imported(source))
    while pending:
        name = pending.pop()
        parts = name.split(".")
        path = base.joinpath(*parts[:-1], f"{parts[-1]}.py")
        if name in found or not path.is_file():
            continue  # packages (stubbed) and imported names that are not modules
        found[name] = path
        pending.extend(sorted(_imported(path.read_text("utf-8")) - found.keys()))
    return found


def vendored_files(source: str, root: Path | None = None) -> dict[str, bytes]:
    """Zip paths -> bytes of the vendored modules plus stub `__init__.py`s of their packages."""
    files: dict[str, bytes] = {}
    for name, path in module_closure(source, root).items():
        parts = name.split(".")
        for depth in range(1, len(parts)):
            files.setdefault("/".join([*parts[:depth], "__init__.py"]), STUB_INIT)
        files["/".join(parts) + ".py"] = path.read_bytes()
    return files


def deployable_requirements(text: str) -> str:
    """The requirements without oratio-voice itself (its modules are vendored instead)."""
    lines = [line for line in text.splitlines() if not _SELF_REQUIREMENT.match(line)]
    return "\n".join(lines) + "\n"


def _has_requirements(text: str) -> bool:
    return any(line.split("#", 1)[0].strip() for line in text.splitlines())


def zip_folder(folder: Path) -> bytes:
    """A deterministic zip of a folder: sorted entries, fixed timestamps, 0644/0755 modes."""
    out = io.BytesIO()
    paths = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    total = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            data = path.read_bytes()
            total += len(data)
            if total > MAX_UNZIPPED:
                raise BundleError(
                    f"the package exceeds AgentCore's {MAX_UNZIPPED // 2**20} MB unzipped limit"
                )
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _ZIP_EPOCH)
            mode = 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    blob = out.getvalue()
    if len(blob) > MAX_ZIPPED:
        raise BundleError(
            f"the package zip is {len(blob) / 2**20:.0f} MB, over AgentCore's "
            f"{MAX_ZIPPED // 2**20} MB limit"
        )
    return blob


def bundle_package(
    files: dict[str, bytes],
    *,
    install: Installer = run_installer,
    uv: Sequence[str] | None = None,
    root: Path | None = None,
) -> bytes:
    """The deployable zip of one stored version (see the module docstring)."""
    if "agent.py" not in files:
        raise BundleError("the package has no agent.py")
    with tempfile.TemporaryDirectory(prefix="oratio-bundle-") as tmp:
        work = Path(tmp)
        target = work / "package"
        target.mkdir()
        try:
            write_package(files, target)
        except ValueError as exc:
            raise BundleError(str(exc)) from exc
        for name, data in vendored_files(files["agent.py"].decode("utf-8"), root).items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        wanted = deployable_requirements(files.get("requirements.txt", b"").decode("utf-8"))
        if _has_requirements(wanted):
            requirements = work / "requirements.txt"
            requirements.write_text(wanted, "utf-8")
            install(install_command(uv or default_uv(), target, requirements))
        return zip_folder(target)

"""Static checks of the website widget's assets: self-contained, in step with PROTOCOL.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "connectors" / "web"
WIDGET = (WEB / "widget.js").read_text()
WORKLET = (WEB / "mic-worklet.js").read_text()
DEMO = (WEB / "demo.html").read_text()
PROTOCOL = (WEB / "PROTOCOL.md").read_text()


def _section(title: str) -> str:
    """The text of one `## title` section of PROTOCOL.md."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", PROTOCOL, re.M | re.S)
    assert match, f"PROTOCOL.md has no section {title!r}"
    return match.group(1)


def test_widget_handles_every_server_message_type() -> None:
    types = set(re.findall(r'\{"type": "(\w+)"', _section("Server -> client")))
    assert types >= {"ready", "state", "transcript", "flush", "handoff", "error", "end"}
    handled = set(re.findall(r'case "(\w+)":', WIDGET))
    assert types <= handled, f"unhandled server messages: {types - handled}"


def test_widget_explains_every_error_close_code() -> None:
    codes = {int(c) for c in re.findall(r"^\| (\d{4}) \|", _section("Close codes"), re.M)}
    assert 4401 in codes and 1000 in codes
    explained = {int(c) for c in re.findall(r"^\s+(\d{4}): \"", WIDGET, re.M)}
    assert codes - {1000} <= explained, (
        f"close codes without a reason: {codes - {1000} - explained}"
    )


def test_widget_sends_only_client_message_types() -> None:
    allowed = set(re.findall(r'\{"type": "(\w+)"', _section("Client -> server")))
    sent = set(re.findall(r'type: "(\w+)"', WIDGET))
    assert sent <= allowed, f"messages PROTOCOL.md does not define: {sent - allowed}"
    assert {"hello", "text", "bye"} <= sent


def test_widget_is_self_contained() -> None:
    code = re.sub(r"/\*.*?\*/", "", WIDGET, flags=re.S)  # the header comment shows an example tag
    assert not re.search(r"\b(import|require)\s*\(|^import ", code, re.M)
    assert not re.search(r"https?://", code), "no CDN or hard-coded origin in widget.js"
    assert code.lstrip().startswith("(() => {") and code.rstrip().endswith("})();")
    assert 'attachShadow({ mode: "open" })' in code


def test_widget_uses_the_oratio_design() -> None:
    for token in ("#1A244B", "#FFB76B", "#8A3FFC", "#F7F7F9", "#646B87", "#101010", "#1C1C1E"):
        assert token in WIDGET, token
    assert "0 0 20px 5px rgba(255,183,107,0.3), 0 0 10px 2px rgba(138,63,252,0.2)" in WIDGET
    assert "border-bottom-right-radius: 2rem" in WIDGET
    assert "prefers-color-scheme: dark" in WIDGET
    assert "Inter, system-ui" in WIDGET


def test_worklet_name_matches() -> None:
    name = re.search(r'registerProcessor\("([\w-]+)"', WORKLET)
    assert name and f'"{name.group(1)}"' in WIDGET
    assert "/mic-worklet.js" in WIDGET


def test_widget_exposes_stable_test_ids() -> None:
    ids = set(re.findall(r'data-testid="([\w-]+)"', WIDGET))
    ids |= set(re.findall(r'dataset\.testid = "([\w-]+)"', WIDGET))
    e2e = (Path(__file__).resolve().parents[1] / "e2e" / "test_widget.py").read_text()
    used = set(re.findall(r'get_by_test_id\("([\w-]+)"\)', e2e))
    assert used and used <= ids, f"test ids the widget lacks: {used - ids}"


def test_demo_page_embeds_the_widget_with_one_tag() -> None:
    tags = re.findall(r"<script\b[^>]*>", DEMO)
    assert len(tags) == 1
    tag = tags[0]
    assert 'src="/widget.js"' in tag
    assert 'data-agent="{{AGENT_ID}}"' in tag and 'data-key="{{API_KEY}}"' in tag
    assert "{{AGENT_NAME}}" in DEMO
    assert not re.search(r"(src|href)=\"https?://", DEMO), "the demo page loads nothing external"


@pytest.mark.parametrize("name", ["widget.js", "mic-worklet.js"])
def test_javascript_parses(name: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: syntax check of the widget skipped (e2e still runs it)")
    result = subprocess.run(
        [node, "--check", str(WEB / name)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr

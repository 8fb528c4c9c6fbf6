"""Plain text and PDF text to Markdown: short title-like lines become headings, so every
SOP, whatever its format, is split into sections the same way."""

from __future__ import annotations

import re

_MD_HEADING = re.compile(r"^#{1,6}\s+\S", re.M)
_SETEXT = re.compile(r"^(=+|-{3,})\s*$")
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|[a-z][.)])\s+")
_TERMINAL = re.compile(r"[.,;!?]$")
_CLAUSE_WORD = re.compile(r"\b(when|if|unless|because|that|which)\b", re.I)


def _is_heading_line(lines: list[str], i: int, after_heading: bool = False) -> bool:
    """A short title-like line standing on its own (plain text and PDF text have no '#')."""
    line = lines[i].strip()
    words = line.rstrip(":").split()
    if not line or not words or _LIST_MARK.match(line) or not line[0].isupper():
        return False
    if len(line) > 70 or len(words) > 8 or _TERMINAL.search(line):
        return False
    if line.endswith(":") and (len(words) > 5 or _CLAUSE_WORD.search(line)):
        return False  # "Transfer the call to the queue when:" introduces a list
    nxt = next((lines[j].strip() for j in range(i + 1, len(lines)) if lines[j].strip()), "")
    if not nxt:
        return False
    prev = lines[i - 1].strip() if i > 0 else ""
    if not prev or after_heading:
        return True
    # PDF text has no blank lines: accept a short line after a finished sentence when the
    # next line starts something new.
    return (
        bool(re.search(r"[.!?:]$", prev))
        and len(words) <= 6
        and (nxt[0].isupper() or bool(_LIST_MARK.match(nxt)))
    )


def to_markdown(text: str) -> str:
    """Give heading-less text Markdown headings; Markdown passes through unchanged."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2022", "-")
    if _MD_HEADING.search(text):
        return text
    lines = text.split("\n")
    out: list[str] = []
    seen_title = False
    for i, line in enumerate(lines):
        if _SETEXT.match(line) and out and out[-1].strip() and not out[-1].startswith("#"):
            level = "#" if line.strip().startswith("=") else "##"
            out[-1] = f"{level} {out[-1].strip()}"
            seen_title = True
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        after_heading = bool(out) and out[-1].startswith("#")
        if not _SETEXT.match(nxt) and _is_heading_line(lines, i, after_heading):
            level = "##" if seen_title else "#"
            seen_title = True
            out.append(f"{level} {line.strip().rstrip(':')}")
            continue
        out.append(line)
    return "\n".join(out)

"""Where output goes: JSON documents on stdout, human text on stderr, for every command."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout: the whole of stdout under ``--json``."""
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()


def say(message: str = "", stream: TextIO | None = None) -> None:
    """Human text; stderr unless a stream is given."""
    print(message, file=stream or sys.stderr, flush=True)


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


_COLOURS = {"error": "31;1", "warning": "33;1", "info": "36", "ok": "32;1", "bold": "1"}


def paint(text: str, style: str, stream: TextIO) -> str:
    """Wrap text in an ANSI colour when the stream is a terminal."""
    if not use_colour(stream) or style not in _COLOURS:
        return text
    return f"\033[{_COLOURS[style]}m{text}\033[0m"


def render_findings(findings: list[Any], stream: TextIO) -> list[str]:
    """Findings (objects or their dicts) as lines: ``  ERROR   [id] message`` and ``fix: ...`` below:
    the one way every command shows them."""
    lines = []
    for finding in findings:
        data = finding if isinstance(finding, dict) else vars(finding)
        severity = data["severity"]
        label = paint(severity.upper().ljust(7), severity, stream)
        lines.append(f"  {label} [{data['id']}] {data['message']}")
        if data.get("fix"):
            lines.append(f"          fix: {data['fix']}")
    return lines


def table(rows: list[tuple[str, ...]], indent: str = "  ") -> str:
    """Left-aligned columns."""
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append(indent + "  ".join(cells).rstrip())
    return "\n".join(lines)

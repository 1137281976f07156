"""Reading small system files without letting a missing or unreadable one raise."""

from __future__ import annotations

from pathlib import Path


def read_text(path: str | Path) -> str | None:
    """The file's text, or None when it is missing, unreadable or not text."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None

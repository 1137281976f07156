"""Judging and applying one hunk on a file's text, whatever its line endings.

Hunk texts are written with LF newlines. In the file each of those newlines
matches either LF or CRLF, and text put in takes the newline style of the text
it replaces, so every byte outside the edit stays as it was.

A hunk's state in a file:
``needed``         the ``find`` text is there (outside any ``replace`` text);
``already-applied`` only the ``replace`` text is there;
``fixed-upstream`` neither, but one of the spec's ``upstream_fixed`` texts is;
``unknown``        none of them: the file is not what the spec was written for.
"""

from __future__ import annotations

import re
from functools import lru_cache

from mmbuild.patching.spec import Hunk

NEEDED = "needed"
ALREADY_APPLIED = "already-applied"
FIXED_UPSTREAM = "fixed-upstream"
UNKNOWN = "unknown"


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    """A regex matching ``text`` with each LF standing for LF or CRLF."""
    return re.compile(r"\r?\n".join(re.escape(part) for part in text.split("\n")))


def _newline_of(matched: str, default: str) -> str:
    if "\r\n" in matched:
        return "\r\n"
    return "\n" if "\n" in matched else default


def dominant_newline(text: str) -> str:
    """CRLF when most line ends are CRLF, else LF."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def _segments(text: str, hunk: Hunk) -> list[tuple[str, bool]]:
    """Split text into (piece, is_replace_text) when ``find`` lies inside ``replace``.

    Then an applied hunk still contains its ``find`` text, which must not count.
    """
    if hunk.find not in hunk.replace:
        return [(text, False)]
    pieces: list[tuple[str, bool]] = []
    last = 0
    for m in _pattern(hunk.replace).finditer(text):
        pieces.append((text[last:m.start()], False))
        pieces.append((m.group(0), True))
        last = m.end()
    pieces.append((text[last:], False))
    return pieces


def count_needed(text: str, hunk: Hunk) -> int:
    """Occurrences of ``find`` still to replace."""
    pattern = _pattern(hunk.find)
    return sum(len(pattern.findall(piece)) for piece, done in _segments(text, hunk) if not done)


def judge(text: str, hunk: Hunk) -> str:
    """The hunk's state in ``text`` (see the module docstring)."""
    if count_needed(text, hunk):
        return NEEDED
    if _pattern(hunk.replace).search(text):
        return ALREADY_APPLIED
    if any(_pattern(fixed).search(text) for fixed in hunk.upstream_fixed):
        return FIXED_UPSTREAM
    return UNKNOWN


def apply(text: str, hunk: Hunk) -> str:
    """Replace every needed occurrence of ``find``; newline style kept per match."""
    default = dominant_newline(text)
    pattern = _pattern(hunk.find)

    def substitute(m: re.Match[str]) -> str:
        return hunk.replace.replace("\n", _newline_of(m.group(0), default))

    return "".join(piece if done else pattern.sub(substitute, piece) for piece, done in _segments(text, hunk))

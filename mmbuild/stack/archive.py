"""The texts a downstream release declares its bounds in, read from its wheel or sdist without
unpacking it: the Requires-Dist lines and each top-level package's ``__init__.py``."""

from __future__ import annotations

import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mmbuild.stack.bounds import requires_dist

_NOT_PACKAGES = ("tests", "test", "docs", "configs", "tools")


@dataclass(frozen=True)
class ReleaseTexts:
    requires: list[str]         # Requires-Dist
    init_texts: list[str]       # top-level __init__.py files


def read_release(path: Path) -> ReleaseTexts:
    """The texts of a wheel (``.whl``) or sdist (``.tar.gz`` / ``.zip``); OSError/ValueError if unreadable."""
    wheel = path.name.endswith(".whl")
    texts = _read_members(path, depth=0 if wheel else 1)    # an sdist's files sit under NAME-VERSION/
    inits = [t for kind, t in texts if kind == "__init__"]
    if wheel:
        return ReleaseTexts(requires_dist(next((t for k, t in texts if k == "METADATA"), "")), inits)
    requires = requires_dist(next((t for k, t in texts if k == "PKG-INFO"), ""))
    if not requires:
        requires = next((requires_txt(t) for k, t in texts if k == "requires.txt"), [])
    return ReleaseTexts(requires, inits)


def requires_txt(text: str) -> list[str]:
    """An ``*.egg-info/requires.txt`` as Requires-Dist lines (``[extra]`` / ``[extra:marker]`` sections)."""
    lines, marker = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, condition = line[1:-1].partition(":")
            parts = ([f"extra == '{extra}'"] if extra else []) + ([f"({condition})"] if condition else [])
            marker = " and ".join(parts)
            continue
        lines.append(f"{line}; {marker}" if marker and ";" not in line else line)
    return lines


def _read_members(path: Path, depth: int) -> list[tuple[str, str]]:
    """(kind, text) of the archive's members of interest, in name order (see :func:`_kind`)."""
    found = []
    if path.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                kind = _kind(name.split("/"), depth)
                if kind:
                    found.append((kind, archive.read(name).decode("utf-8", errors="replace")))
        return found
    with tarfile.open(path, "r:*") as tar:
        for member in sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name):
            kind = _kind(member.name.split("/"), depth)
            handle = tar.extractfile(member) if kind else None
            if kind and handle is not None:
                found.append((kind, handle.read().decode("utf-8", errors="replace")))
    return found


def _kind(parts: list[str], depth: int) -> str | None:
    """"METADATA", "PKG-INFO", "requires.txt", "__init__" (a top-level package's) or None."""
    if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
        return "METADATA"
    if len(parts) == depth + 1 and parts[-1] == "PKG-INFO":
        return "PKG-INFO"
    in_egg_info = len(parts) in (depth + 2, depth + 3) and parts[-2].endswith(".egg-info")
    if in_egg_info and parts[-1] == "requires.txt":
        return "requires.txt"
    inner = parts[depth:]
    if inner[:1] == ["src"]:
        inner = inner[1:]
    if len(inner) == 2 and inner[1] == "__init__.py" and inner[0] not in _NOT_PACKAGES:
        return "__init__"
    return None

"""Precompiled headers kept between builds, keyed like a compiler-cache entry.

A ``.gch`` costs about one C++ unit to build (a minute on one core, ~0.5 GB with ``-g``), and a
rebuild whose units nearly all hit the compiler cache would pay it in full for a few misses. An
entry's key covers what GCC's own validity check (``-Winvalid-pch``) does not: the compiler binary,
the units' flags with the source tree's path taken out, the include-path variables, and the
content of mmcv's two helper headers. The headers the ``.gch`` pulled in (torch's, the C++
library's) are recorded with their digests when it is built and compared before it is reused; an
entry whose headers changed is built again.

The ``.gch`` is built from copies of mmcv's headers inside the entry, so that the paths it records
(debug info, the ``-fpch-deps`` lists that ccache's depend mode hashes) stay valid after the build's
work folder is gone. An entry that depends on a file inside the source tree is not kept. An entry is
hard-linked (or copied) beside the tree's ``pytorch_cpp_helper.hpp``; at most :data:`KEEP` entries
stay, the least recently used go first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from mmbuild.util.fileio import sha256_file

KEEP = 2
SCHEME = "1"
GCH = "pytorch_cpp_helper.hpp.gch"
INCLUDE_VARIABLES = ("CPATH", "CPLUS_INCLUDE_PATH", "C_INCLUDE_PATH")


def parse_depfile(text: str) -> list[str]:
    """The prerequisites of a Make-style dependency file (``target: a b \\`` continued lines)."""
    body = text.replace("\\\r\n", " ").replace("\\\n", " ")
    paths: list[str] = []
    for rule in body.splitlines():
        _, sep, prerequisites = rule.partition(": ")
        if not sep:
            continue
        word = ""
        escaped = False
        for char in prerequisites:
            if escaped:
                word += char
                escaped = False
            elif char == "\\":
                escaped = True
            elif char.isspace():
                if word:
                    paths.append(word)
                word = ""
            else:
                word += char
        if word:
            paths.append(word)
    return list(dict.fromkeys(paths))


def entry_key(compiler: str, flags: list[str], tree: Path, headers: list[Path], env: dict[str, str]) -> str:
    """The key of the ``.gch`` these inputs make (apart from the headers it includes)."""
    resolved = Path(shutil.which(compiler) or compiler).resolve()
    stat = resolved.stat() if resolved.exists() else None
    facts = {
        "scheme": SCHEME,
        "compiler": [str(resolved), stat.st_size if stat else None, stat.st_mtime_ns if stat else None],
        "flags": [flag.replace(str(tree), "<tree>") for flag in flags],
        "env": {name: env.get(name, "") for name in INCLUDE_VARIABLES},
        "headers": {path.name: sha256_file(path) for path in headers},
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:32]


class PchStore:
    """``<root>/<key>/``: ``src/`` (the header copies), the ``.gch``, ``deps.json``."""

    def __init__(self, root: Path):
        self.root = root

    @contextlib.contextmanager
    def locked(self, key: str, *, wait: bool = True) -> Iterator[bool]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{key}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True

    def valid_gch(self, key: str) -> Path | None:
        """The entry's ``.gch`` when every header it recorded still has the same content."""
        entry = self.root / key
        gch, deps_file = entry / GCH, entry / "deps.json"
        if not gch.is_file() or not deps_file.is_file():
            return None
        try:
            deps = json.loads(deps_file.read_text(encoding="utf-8"))
            if any(not Path(p).is_file() or sha256_file(Path(p)) != digest for p, digest in deps.items()):
                return None
        except (OSError, ValueError):
            return None
        os.utime(deps_file)                     # most recently used
        return gch

    def build(self, key: str, compiler: list[str], flags: list[str], tree: Path,
              headers: list[Path]) -> tuple[Path | None, str]:
        """Build the entry; (its ``.gch`` or None, the compiler's stderr). A ``.gch`` that depends
        on the tree gets no ``deps.json``: this build uses it, no later one does."""
        entry, tmp = self.root / key, self.root / f"{key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "src").mkdir(parents=True)
        for header in headers:
            shutil.copyfile(header, tmp / "src" / header.name)
        source = tmp / "src" / "mmbuild_pch.hpp"
        source.write_text("".join(f'#include "{h.name}"\n' for h in headers), encoding="utf-8")
        final_src = entry / "src"
        # The .gch is built where it will stay, so the paths it records are the entry's.
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(tmp, entry)
        depfile = entry / "gch.d"
        done = subprocess.run([*compiler, *flags, "-MMD", "-MF", str(depfile), "-x", "c++-header",
                               str(final_src / "mmbuild_pch.hpp"), "-o", str(entry / f"{GCH}.tmp")],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not (entry / f"{GCH}.tmp").is_file():
            shutil.rmtree(entry, ignore_errors=True)
            return None, done.stderr
        deps = [Path(p) for p in parse_depfile(depfile.read_text(encoding="utf-8", errors="replace"))]
        os.replace(entry / f"{GCH}.tmp", entry / GCH)
        if any(tree in path.resolve().parents for path in deps):
            return entry / GCH, done.stderr     # used by this build only: no deps.json, pruned first
        digests = {str(path.resolve()): sha256_file(path) for path in deps if path.is_file()}
        (entry / "deps.json").write_text(json.dumps(digests, indent=1, sort_keys=True), encoding="utf-8")
        return entry / GCH, done.stderr

    def prune(self, keep: int = KEEP) -> tuple[list[Path], list[Path]]:
        """Remove all but the ``keep`` most recently used entries: (removed, left because in use)."""
        entries = [p for p in self.root.iterdir() if p.is_dir() and not p.name.endswith(".tmp")] \
            if self.root.is_dir() else []
        entries.sort(key=lambda p: (p / "deps.json").stat().st_mtime if (p / "deps.json").exists() else 0,
                     reverse=True)
        removed, busy = [], []
        for old in entries[keep:]:
            with self.locked(old.name, wait=False) as free:
                if free:
                    shutil.rmtree(old, ignore_errors=True)
                (removed if free else busy).append(old)
        return removed, busy


def place(gch: Path, output: Path) -> None:
    """Put ``gch`` at ``output`` (a hard link when both are on one file system)."""
    tmp = output.with_name(f"{output.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(gch, tmp)
    except OSError:
        shutil.copyfile(gch, tmp)
    os.replace(tmp, output)

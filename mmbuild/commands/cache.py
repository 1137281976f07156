"""``mmbuild cache``: what mmbuild keeps (util/cache_dirs.py) and its size; ``prune`` removes parts of it.

``prune`` never pulls anything from under a running mmbuild: a toolkit, wheel or precompiled header
whose lock is held is left, and only the work folders of runs that are gone are removed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from mmbuild.errors import EXIT_OK, UsageError
from mmbuild.toolkits import store as toolkit_store
from mmbuild.util.cache_dirs import PARTS, cache_dir, cache_root, sweep_dead_runs
from mmbuild.util.console import emit_json, paint, say, table
from mmbuild.wheels.store import WheelStore

HELP = "list what mmbuild keeps in its cache and its size; prune parts of it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("list", "prune"), default="list")
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help=f"with prune: the parts to empty ({', '.join(PARTS)}), or --all")
    parser.add_argument("--all", action="store_true", help="with prune: every part")


def run(args: argparse.Namespace) -> int:
    if args.action == "prune":
        parts = list(PARTS) if args.all else args.parts
        unknown = [p for p in parts if p not in PARTS]
        if unknown or not parts:
            raise UsageError(f"prune needs parts of the cache: {', '.join(unknown) or 'none given'}",
                             fix=f"name some of {', '.join(PARTS)}, or pass --all")
        results = {part: prune(part) for part in parts}
        if args.json:
            emit_json({"removed": {part: [str(p) for p in r[0]] for part, r in results.items()},
                       "in_use": {part: [str(p) for p in r[1]] for part, r in results.items()},
                       "parts": usage()})
            return EXIT_OK
        for part, (removed, busy) in results.items():
            say(f"{part}: removed {len(removed)}" + (f", left {len(busy)} in use" if busy else ""))
    if args.json:
        emit_json({"root": str(cache_root()), "parts": usage()})
        return EXIT_OK
    _print_usage()
    return EXIT_OK


def usage() -> list[dict]:
    """Each part: its folder, how many entries it holds and their size in bytes."""
    rows = []
    for part in PARTS:
        folder = cache_dir(part)
        entries = _entries(folder)
        rows.append({"part": part, "path": str(folder), "entries": len(entries),
                     "bytes": sum(_size(e) for e in entries)})
    return rows


def prune(part: str) -> tuple[list[Path], list[Path]]:
    """Remove the entries of one part that no running mmbuild holds: (removed, left in use).

    Each store removes its own entries under its own lock; the other parts hold nothing in use.
    """
    folder = cache_dir(part)
    if part == "work":
        return sweep_dead_runs(folder), []
    if part == "pch":
        from mmbuild.build.pch_store import PchStore  # fcntl: not imported on Windows

        return PchStore(folder).prune(keep=0)
    removed, busy = [], []
    for entry in _entries(folder):
        if part == "toolkits" and entry.is_dir():
            free = toolkit_store.remove(entry)
        elif part == "wheels" and entry.is_dir():
            free = WheelStore().remove(entry.name)
        else:
            _remove(entry)
            free = True
        (removed if free else busy).append(entry)
    return removed, busy


def _entries(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.endswith(".lock") and p.name != "index.json")


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink(missing_ok=True)


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _print_usage() -> None:
    out = sys.stderr
    rows = [(row["part"], f"{row['entries']} entries", _mib(row["bytes"]), row["path"]) for row in usage()]
    say(paint(f"mmbuild cache: {cache_root()}", "bold", out))
    say(table(rows))


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"

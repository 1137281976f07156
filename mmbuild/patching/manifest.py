"""The patch manifest: which files were changed, their sha256 before and after, and backups.

JSON, next to its backups::

    {"schema": 1, "root": "...", "patches": ["torch17-profile-kind"],
     "files": [{"file": "torch/csrc/jit/ir/ir.h", "sha256_before": "...",
                "sha256_after": "...", "backup": "<manifest stem>-backup/torch/csrc/jit/ir/ir.h"}]}

``backup`` is relative to the manifest's folder. ``revert`` restores each file from
its backup, byte for byte, after checking both hashes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.util.fileio import atomic_write

SCHEMA = 1


@dataclass
class FileRecord:
    file: str
    sha256_before: str
    sha256_after: str
    backup: str


@dataclass
class Manifest:
    root: str
    patches: list[str] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)

    def record(self, file: str) -> FileRecord | None:
        return next((r for r in self.files if r.file == file), None)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "root": self.root, "patches": self.patches,
                "files": [asdict(r) for r in self.files]}


def backup_dir(manifest_path: Path) -> Path:
    return manifest_path.parent / f"{manifest_path.stem}-backup"


def backup_path(manifest_path: Path, file: str) -> Path:
    return backup_dir(manifest_path) / file


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at ``path``, or None when there is none."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unsupported schema {data.get('schema')!r}")
        return Manifest(root=data["root"], patches=list(data.get("patches", [])),
                        files=[FileRecord(**r) for r in data.get("files", [])])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"unreadable patch manifest {path}: {exc}",
                         fix="reinstall the package to restore its files, then delete the manifest") from None


def write_manifest(path: Path, manifest: Manifest) -> None:
    atomic_write(path, (json.dumps(manifest.to_dict(), indent=2) + "\n").encode("utf-8"))

"""The patch engine: check, apply and revert declarative patches on a source tree.

Every hunk of every file is judged first, in memory; files are written only when
no hunk met unknown content, each through a temporary file and os.replace. A
failure while writing puts back the files already written. With a manifest path,
the original bytes are kept as backups so ``revert_patches`` restores them exactly.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mmbuild.errors import PatchConflictError
from mmbuild.patching import hunks as hunk_state
from mmbuild.patching.files import decode, encode, ensure_writable, sha256_bytes
from mmbuild.patching.manifest import (
    FileRecord,
    Manifest,
    backup_dir,
    backup_path,
    read_manifest,
    write_manifest,
)
from mmbuild.patching.spec import PatchSpec, index_specs, normalise_platform
from mmbuild.util.fileio import atomic_write

# Per-hunk statuses in a report.
APPLIED = "applied"                  # changed by this run
NEEDED = "needed"                    # would be changed (check only)
ALREADY_APPLIED = "already-applied"
NOT_APPLICABLE = "not-applicable"    # other package/version/platform, or fixed upstream
CONFLICT = "conflict"                # unknown content: refused
REVERTED = "reverted"


@dataclass
class HunkResult:
    patch: str
    hunk: str
    file: str
    status: str
    occurrences: int = 0
    reason: str = ""


@dataclass
class FileChange:
    file: str
    sha256_before: str
    sha256_after: str
    backup: str | None = None


@dataclass
class PatchReport:
    """What a check, apply or revert found and did; JSON-able through to_dict()."""

    mode: str
    root: str
    package: str | None = None
    version: str | None = None
    platform: str | None = None
    hunks: list[HunkResult] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    manifest: str | None = None

    @property
    def conflicts(self) -> list[HunkResult]:
        return [h for h in self.hunks if h.status == CONFLICT]

    @property
    def changed(self) -> bool:
        return bool(self.files)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "root": self.root, "package": self.package, "version": self.version,
                "platform": self.platform, "manifest": self.manifest,
                "hunks": [asdict(h) for h in self.hunks], "files": [asdict(f) for f in self.files],
                "ok": not self.conflicts}


@dataclass
class _FileState:
    original: bytes | None
    text: str | None

    @property
    def changed(self) -> bool:
        return self.text is not None and self.original is not None and encode(self.text) != self.original


def _conflict_error(conflicts: list[HunkResult], root: Path) -> PatchConflictError:
    first = conflicts[0]
    more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
    return PatchConflictError(
        f"{root / first.file}: {first.reason} for patch {first.patch} hunk {first.hunk}{more}; "
        "no file was changed",
        fix="reinstall or re-download the unmodified package, or report this file version",
    )


def _judge_all(root: Path, specs: list[PatchSpec], package: str, version: str | None,
               platform: str, mode: str) -> tuple[PatchReport, dict[str, _FileState]]:
    report = PatchReport(mode=mode, root=str(root), package=package, version=version, platform=platform)
    states: dict[str, _FileState] = {}
    for spec in specs:
        if not spec.applies_to(package, version, platform):
            wanted = "; ".join(f"{t.package} {t.versions or 'any'}" for t in spec.targets)
            for h in spec.hunks:
                report.hunks.append(HunkResult(spec.id, h.id, h.file, NOT_APPLICABLE,
                                               reason=f"for {wanted} on {', '.join(spec.platforms)}"))
            continue
        for h in spec.hunks:
            if h.file not in states:
                path = root / h.file
                data = path.read_bytes() if path.is_file() else None
                states[h.file] = _FileState(data, decode(data) if data is not None else None)
            state = states[h.file]
            if state.text is None:
                report.hunks.append(HunkResult(spec.id, h.id, h.file, CONFLICT, reason="file is missing"))
                continue
            judged = hunk_state.judge(state.text, h)
            if judged == hunk_state.NEEDED:
                count = hunk_state.count_needed(state.text, h)
                state.text = hunk_state.apply(state.text, h)
                report.hunks.append(HunkResult(spec.id, h.id, h.file, NEEDED, count))
            elif judged == hunk_state.ALREADY_APPLIED:
                report.hunks.append(HunkResult(spec.id, h.id, h.file, ALREADY_APPLIED))
            elif judged == hunk_state.FIXED_UPSTREAM:
                report.hunks.append(HunkResult(spec.id, h.id, h.file, NOT_APPLICABLE,
                                               reason="fixed upstream"))
            else:
                report.hunks.append(HunkResult(spec.id, h.id, h.file, CONFLICT,
                                               reason="unrecognised content (neither the original nor the "
                                                      "patched text)"))
    return report, states


def _specs(patch_ids: list[str], specs_dir: Path | None) -> list[PatchSpec]:
    index = index_specs(specs_dir)
    return [index.get(pid) for pid in dict.fromkeys(patch_ids)]


def check_patches(root: Path, patch_ids: list[str], *, package: str, version: str | None, platform: str,
                  specs_dir: Path | None = None) -> PatchReport:
    """Judge every hunk (needed / already-applied / not-applicable / conflict); change nothing."""
    root = Path(root)
    report, _ = _judge_all(root, _specs(patch_ids, specs_dir), package, version,
                           normalise_platform(platform), "check")
    return report


def apply_patches(root: Path, patch_ids: list[str], *, package: str, version: str | None, platform: str,
                  specs_dir: Path | None = None, manifest_path: Path | None = None) -> PatchReport:
    """Apply the patches to the tree at ``root``; idempotent.

    Raises PatchConflictError (nothing written) when any hunk meets unknown content,
    ReadOnlyTreeError (nothing written) when a file to change cannot be written.
    """
    root = Path(root)
    report, states = _judge_all(root, _specs(patch_ids, specs_dir), package, version,
                                normalise_platform(platform), "apply")
    report.manifest = str(manifest_path) if manifest_path else None
    if report.conflicts:
        error = _conflict_error(report.conflicts, root)
        error.report = report  # type: ignore[attr-defined]
        raise error
    changed = {name: s for name, s in states.items() if s.changed}
    for h in report.hunks:
        if h.status == NEEDED:
            h.status = APPLIED
    if not changed:
        return report
    targets = [root / name for name in changed]
    if manifest_path is not None:
        targets += [Path(manifest_path)] + [backup_path(Path(manifest_path), n) for n in changed]
    ensure_writable(targets, str(root))
    manifest = read_manifest(Path(manifest_path)) if manifest_path else None
    if manifest_path is not None and manifest is None:
        manifest = Manifest(root=str(root))
    _write_files(root, changed, report, manifest, manifest_path)
    if manifest is not None and manifest_path is not None:
        for pid in patch_ids:
            if pid not in manifest.patches:
                manifest.patches.append(pid)
        write_manifest(Path(manifest_path), manifest)
    return report


def _write_files(root: Path, changed: dict[str, _FileState], report: PatchReport,
                 manifest: Manifest | None, manifest_path: Path | None) -> None:
    written: list[tuple[Path, bytes]] = []
    try:
        for name, state in changed.items():
            assert state.original is not None and state.text is not None
            new = encode(state.text)
            backup: str | None = None
            if manifest is not None and manifest_path is not None:
                record = manifest.record(name)
                if record is None:
                    bpath = backup_path(Path(manifest_path), name)
                    atomic_write(bpath, state.original)
                    backup = str(bpath.relative_to(Path(manifest_path).parent).as_posix())
                    manifest.files.append(
                        FileRecord(name, sha256_bytes(state.original), sha256_bytes(new), backup))
                else:
                    backup = record.backup
                    record.sha256_after = sha256_bytes(new)
            atomic_write(root / name, new)
            written.append((root / name, state.original))
            report.files.append(FileChange(name, sha256_bytes(state.original), sha256_bytes(new), backup))
    except BaseException:
        for path, original in reversed(written):
            atomic_write(path, original)
        report.files.clear()
        raise


def revert_patches(root: Path, manifest_path: Path) -> PatchReport:
    """Restore every file in the manifest from its backup, byte for byte, then drop the manifest.

    Files already back to their original bytes are left alone; a file changed since
    it was patched (neither the patched nor the original hash) is refused with
    PatchConflictError before anything is written.
    """
    root, manifest_path = Path(root), Path(manifest_path)
    report = PatchReport(mode="revert", root=str(root), manifest=str(manifest_path))
    manifest = read_manifest(manifest_path)
    if manifest is None:
        return report
    restores: list[tuple[FileRecord, bytes]] = []
    for record in manifest.files:
        path = root / record.file
        current = sha256_bytes(path.read_bytes()) if path.is_file() else None
        if current == record.sha256_before:
            report.hunks.append(HunkResult("*", "*", record.file, ALREADY_APPLIED, reason="already original"))
            continue
        backup = manifest_path.parent / record.backup
        saved = backup.read_bytes() if backup.is_file() else None
        if current != record.sha256_after:
            reason = "file changed since it was patched"
        elif saved is None or sha256_bytes(saved) != record.sha256_before:
            reason = "backup copy is missing or damaged"
        else:
            restores.append((record, saved))
            continue
        report.hunks.append(HunkResult("*", "*", record.file, CONFLICT, reason=reason))
    if report.conflicts:
        raise _conflict_error(report.conflicts, root)
    ensure_writable([root / r.file for r, _ in restores] + [manifest_path], str(root))
    for record, saved in restores:
        atomic_write(root / record.file, saved)
        report.hunks.append(HunkResult("*", "*", record.file, REVERTED))
        report.files.append(FileChange(record.file, record.sha256_after, record.sha256_before, record.backup))
    manifest_path.unlink()
    shutil.rmtree(backup_dir(manifest_path), ignore_errors=True)
    return report

"""Reduce an extracted mmcv source tree to the sources a list of ops needs.

mmcv's setup.py compiles every file its globs find, so the files the ops do not
need are deleted from the (temporary, already patched) tree, and ``pybind.cpp``
and, for CUDA, ``cuda/cudabind.cpp`` are rewritten. A manifest at the top of the
tree records the result, so applying the same subset again is a no-op.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.model.options import normalise_ops
from mmbuild.subset.bindings import GENERATED_MARK, not_built_message, rewrite_cudabind, rewrite_pybind
from mmbuild.subset.index import (
    CSRC,
    CUDABIND,
    PYBIND,
    TARGET_GLOBS,
    SourceIndex,
    candidate_files,
    cudabind_chunks,
    index_tree,
)
from mmbuild.subset.select import Selection, kept_cudabind_chunks, select_units

MANIFEST = ".mmbuild-subset.json"


@dataclass
class SubsetResult:
    """What a subset build compiles; ``devices`` lists the kernels each built op has."""

    target: str
    ops: list[str]                                     # as asked
    built_ops: list[str]                               # asked + ops their sources call into
    devices: dict[str, list[str]] = field(default_factory=dict)
    kept_files: list[str] = field(default_factory=list)        # relative to the tree
    removed_files: list[str] = field(default_factory=list)
    generated_files: list[str] = field(default_factory=list)
    bound: list[str] = field(default_factory=list)             # _ext names with a real binding
    stubbed: list[str] = field(default_factory=list)           # _ext names that raise

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SubsetResult:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _check_ops(ops: list[str], index: SourceIndex, tree: Path) -> None:
    if not ops:
        raise UsageError("no ops given for a subset build", fix="pass --ops, e.g. --ops nms,roi_align")
    known = index.ops
    for op in ops:
        if op not in known:
            close = difflib.get_close_matches(op, known, n=3, cutoff=0.6)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
            raise UsageError(f"unknown op {op!r} in the mmcv source at {tree}{hint}",
                             fix=f"choose from: {', '.join(known)}")


def _read_manifest(tree: Path) -> SubsetResult | None:
    path = tree / MANIFEST
    if not path.is_file():
        return None
    try:
        return SubsetResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"unreadable subset manifest {path}: {exc}",
                         fix="extract a fresh copy of the mmcv source") from None


def apply_subset(tree: Path, ops: list[str], *, target: str) -> SubsetResult:
    """Keep only what ``ops`` need in the mmcv source ``tree`` built for ``target`` ("cpu"|"cuda").

    Raises UsageError for an unknown op (with close matches), an unknown target, a
    tree that is not an mmcv source with ops, or a tree already reduced to other ops.
    """
    tree = Path(tree)
    if target not in TARGET_GLOBS:
        raise UsageError(f"unknown build target {target!r}", fix="use 'cpu' or 'cuda'")
    wanted = normalise_ops(ops)
    previous = _read_manifest(tree)
    if previous is not None:
        if previous.ops == wanted and previous.target == target:
            return previous
        raise UsageError(f"{tree} was already reduced to the ops {', '.join(previous.ops)} "
                         f"({previous.target})", fix="extract a fresh copy of the mmcv source")
    if not (tree / CSRC / PYBIND).is_file():
        raise UsageError(f"{tree} is not an mmcv source tree with ops ({CSRC / PYBIND} is missing)",
                         fix="pass the top folder of an extracted mmcv or mmcv-full sdist")
    index = index_tree(tree, target)
    _check_ops(wanted, index, tree)
    selection = select_units(index, wanted)
    result = _rewrite(tree, index, selection, wanted)
    try:
        (tree / MANIFEST).write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {tree / MANIFEST}: {exc}") from None
    return result


def _rewrite(tree: Path, index: SourceIndex, selection: Selection, wanted: list[str]) -> SubsetResult:
    """Compute every new file first, then write them and delete the unneeded sources."""
    root = tree / CSRC
    built = selection.built_ops
    header = (f"{GENERATED_MARK} built for {index.target} with the ops {', '.join(built)}; "
              "the other bindings raise an error naming the op.")
    pybind, bound, stubbed = rewrite_pybind(
        index.pybind_text,
        is_built=lambda function: function in selection.available,
        message_for=lambda function: not_built_message(index.owner_op(function) or function, built),
        header=header,
    )
    generated = {PYBIND: pybind}
    if index.cudabind_text is not None:
        chunks = cudabind_chunks(index.cudabind_text)
        keep = kept_cudabind_chunks(index, selection)
        reduced = rewrite_cudabind(index.cudabind_text, chunks, keep, header)
        generated[CUDABIND] = re.sub(r"\n{3,}", "\n\n", reduced)
    kept_paths = {index.units[key].path for key in selection.kept} | set(generated)
    removed = [rel for rel in candidate_files(tree, index.target) if rel not in kept_paths]
    try:
        for rel, text in generated.items():
            (root / rel).write_text(text, encoding="utf-8")
        for rel in removed:
            (root / rel).unlink()
    except OSError as exc:
        raise UsageError(f"cannot reduce the source tree {tree} to a subset: {exc}",
                         fix="build from a writable copy of the mmcv source") from None
    prefix = CSRC.as_posix()
    return SubsetResult(
        target=index.target,
        ops=wanted,
        built_ops=built,
        devices=selection.devices,
        kept_files=sorted(f"{prefix}/{rel}" for rel in kept_paths),
        removed_files=[f"{prefix}/{rel}" for rel in removed],
        generated_files=[f"{prefix}/{rel}" for rel in generated],
        bound=sorted(bound),
        stubbed=sorted(stubbed),
    )

"""The user's requirements (``mmbuild install REQ ... -r FILE``): PEP 508, read and checked.

Bad input is a one-line UsageError: a requirement that is not PEP 508, a file that cannot be read,
a requirement file option mmbuild does not follow, mmcv-lite, or a requirement on torch (mmbuild
builds against the installed torch and never replaces it).
"""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mmbuild.errors import UsageError

# The OpenMMLab packages that use mmcv (the onedl-* forks: VBTI's maintained ones).
MMCV_USERS = (
    "mmdet", "mmsegmentation", "mmpretrain", "mmaction2", "mmdet3d", "mmpose", "mmocr", "mmagic",
    "mmrotate", "mmcls", "mmediting", "mmyolo", "mmtrack", "mmfewshot", "mmselfsup", "mmflow",
    "mmhuman3d", "mmrazor", "mmdeploy", "onedl-mmdetection", "onedl-mmsegmentation",
    "onedl-mmpretrain", "onedl-mmdetection3d", "onedl-mmpose", "onedl-mmocr", "onedl-mmagic",
    "onedl-mmrotate", "onedl-mmaction2",
)
MMCV_NAMES = ("mmcv", "mmcv-full", "onedl-mmcv")
MMENGINE_NAMES = ("mmengine", "onedl-mmengine")
KEPT_AS_INSTALLED = ("torch",)
# mmcv without its ops: installed beside the built mmcv it would shadow it.
REFUSED = {"mmcv-lite": "mmcv-lite installs the mmcv package without its ops, over the one mmbuild builds"}
_EXAMPLE = "e.g. mmdet==3.3.0 mmsegmentation 'mmpretrain>=1.2'"


def parse_requests(args: list[str], files: list[Path]) -> list[Requirement]:
    """The requirements of ``args`` and of each requirements file, one per distribution (a name
    given twice is held to both specifiers)."""
    lines = [(arg, "the command line") for arg in args]
    for path in files:
        lines += [(line, str(path)) for line in _file_lines(Path(path), seen=set())]
    merged: dict[str, Requirement] = {}
    for text, where in lines:
        requirement = _parse(text, where)
        key = canonicalize_name(requirement.name)
        if key in KEPT_AS_INSTALLED:
            raise UsageError(f"{requirement.name} is kept as installed: mmbuild builds against it",
                             fix=f"install the {requirement.name} you want first, then run mmbuild install")
        if key in REFUSED:
            raise UsageError(REFUSED[key],
                             fix=f"leave {requirement.name} out: mmbuild builds mmcv with its ops")
        if key in merged:
            merged[key].specifier &= requirement.specifier
            merged[key].extras |= requirement.extras
        else:
            merged[key] = requirement
    return list(merged.values())


def is_mmcv_user(name: str) -> bool:
    """Whether ``name`` is one of the OpenMMLab packages known to use mmcv."""
    return canonicalize_name(name) in MMCV_USERS


def _parse(text: str, where: str) -> Requirement:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "not PEP 508"
        raise UsageError(f"{text!r} ({where}) is not a requirement: {reason}",
                         fix=f"use PEP 508, {_EXAMPLE}") from None
    if requirement.url:
        raise UsageError(f"{text!r} ({where}): a requirement with a URL is not resolved by mmbuild",
                         fix=f"name a released version, {_EXAMPLE}")
    return requirement


def _file_lines(path: Path, seen: set[Path]) -> list[str]:
    """The requirement lines of a requirements file, following ``-r`` (comments and blanks left out)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot read the requirements file {path}: {reason}",
                         fix="check the path") from None
    seen.add(path.resolve())
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ", "--requirement=")):
            nested = path.parent / line.split(None, 1)[-1].split("=", 1)[-1].strip()
            if nested.resolve() not in seen:
                lines += _file_lines(nested, seen)
            continue
        if line.startswith("-"):
            raise UsageError(f"{path}: {line!r} is an option mmbuild does not follow",
                             fix="list only requirements (and -r FILE) in the file; "
                                 "index options go in pip's config")
        lines.append(line)
    return lines

"""Give a built wheel its local version label (wheels/local_version.py): file name, METADATA and RECORD.

A wheel's version is in three places that installers compare: the file name
(``mmcv-2.1.0-cp311-...whl``), the ``.dist-info`` (and ``.data``) folder names, and the ``Version:``
line of METADATA; RECORD lists every member with its hash. The wheel is rewritten into a new file
with all of them changed together, RECORD regenerated, and the old file removed once the new one
is complete (util/fileio.py ``replacing``).
"""

from __future__ import annotations

import re
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from mmbuild.util.fileio import replacing
from mmbuild.wheels.metadata import dist_info_dir, write_record

_VERSION_LINE = re.compile(rb"^Version: *[^\r\n]*", re.MULTILINE)


def wheel_version(wheel: Path) -> str:
    """The ``Version:`` of the wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        info = dist_info_dir(archive.namelist())
        text = archive.read(f"{info}/METADATA").decode("utf-8", errors="replace")
    return HeaderParser().parsestr(text)["Version"]


def relabel_wheel(wheel: Path, version: str) -> Path:
    """Rewrite ``wheel`` as version ``version`` (e.g. ``2.1.0+torch2.13cpu``); returns the new path."""
    with zipfile.ZipFile(wheel) as source:
        names = source.namelist()
        old_info = dist_info_dir(names)
        stem = old_info[: -len(".dist-info")]
        name, _, old_version = stem.rpartition("-")
        if not wheel.name.startswith(f"{stem}-"):
            raise ValueError(f"{wheel.name} does not start with {stem}-")
        new_stem = f"{name}-{version.replace('-', '_')}"
        target = wheel.with_name(new_stem + wheel.name[len(stem):])
        if old_version == version:
            return wheel
        renames = {f"{stem}.dist-info/": f"{new_stem}.dist-info/", f"{stem}.data/": f"{new_stem}.data/"}
        with replacing(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as out:
            rows = []
            for info in source.infolist():
                if info.filename == f"{old_info}/RECORD":
                    continue
                content = source.read(info)
                new_name = _renamed(info.filename, renames)
                if new_name == f"{new_stem}.dist-info/METADATA":
                    content = _VERSION_LINE.sub(b"Version: " + version.encode(), content, count=1)
                info.filename = new_name
                out.writestr(info, content)
                if not info.is_dir():
                    rows.append((new_name, content))
            write_record(out, f"{new_stem}.dist-info/RECORD", rows)
    if target != wheel:
        wheel.unlink()
    return target


def _renamed(member: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if member.startswith(old):
            return new + member[len(old):]
    return member

"""What a built wheel holds: its ``mmcv/_ext`` (exported symbols, ELF sections) and its mmbuild metadata."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path


def extract_ext(wheel: str | Path, folder: Path) -> Path:
    """The wheel's ``mmcv/_ext`` library, extracted into ``folder``."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("mmcv/_ext")]
        return Path(archive.extract(name, folder))


def wheel_exports(wheel: str | Path, folder: Path, kinds: str | None = None) -> set[str]:
    """Extract the wheel's ``_ext`` into ``folder`` and list the names it exports; with ``kinds``
    (nm's type letters, ``"TDBR"`` for the strong ones), only those."""
    out = subprocess.run(["nm", "-D", "--defined-only", str(extract_ext(wheel, folder))],
                         capture_output=True, text=True, check=True)
    rows = [line.split() for line in out.stdout.splitlines() if line.strip()]
    return {row[-1] for row in rows if kinds is None or (len(row) >= 2 and row[-2] in kinds)}


def ext_sections(wheel: str | Path, folder: Path) -> set[str]:
    """The ELF section names of the wheel's ``_ext`` (``readelf -S``), e.g. ``.debug_info``."""
    out = subprocess.run(["readelf", "-S", "-W", str(extract_ext(wheel, folder))], capture_output=True,
                         text=True, check=True).stdout
    return set(re.findall(r"\]\s+(\.\S+)", out))


def wheel_metadata(wheel: str | Path) -> dict:
    """The wheel's ``mmcv/_mmbuild.json``."""
    with zipfile.ZipFile(wheel) as archive:
        return json.loads(archive.read("mmcv/_mmbuild.json"))

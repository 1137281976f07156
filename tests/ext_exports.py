"""The symbols a built wheel's ``mmcv/_ext`` exports (``nm -D --defined-only``), for comparing builds."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path


def wheel_exports(wheel: str | Path, folder: Path, kinds: str | None = None) -> set[str]:
    """Extract the wheel's ``_ext`` into ``folder`` and list the names it exports; with ``kinds``
    (nm's type letters, ``"TDBR"`` for the strong ones), only those."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("mmcv/_ext")]
        path = Path(archive.extract(name, folder))
    out = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True,
                         check=True)
    rows = [line.split() for line in out.stdout.splitlines() if line.strip()]
    return {row[-1] for row in rows if kinds is None or (len(row) >= 2 and row[-2] in kinds)}

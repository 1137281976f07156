"""The symbols a built wheel's ``mmcv/_ext`` exports (``nm -D --defined-only``), for comparing builds."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path


def wheel_exports(wheel: str | Path, folder: Path) -> set[str]:
    """Extract the wheel's ``_ext`` into ``folder`` and list the names it exports."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("mmcv/_ext")]
        path = Path(archive.extract(name, folder))
    out = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True,
                         check=True)
    return {line.split()[-1] for line in out.stdout.splitlines() if line.strip()}

"""Find an installed torch's include folder and version without importing torch."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from mmbuild.errors import UsageError

MANIFEST_NAME = ".mmbuild-patch-manifest.json"
_VERSION = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


@dataclass(frozen=True)
class TorchTree:
    """torch's package folder, its include folder (the patch root) and version."""

    package_dir: Path
    include_dir: Path
    version: str

    @property
    def manifest_path(self) -> Path:
        """Kept in the include folder, beside the headers it describes."""
        return self.include_dir / MANIFEST_NAME


def installed_torch_dir() -> Path:
    """The installed torch package folder, from its import spec (torch is not imported)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("torch is not installed in this Python",
                         fix="install torch or pass --torch-root DIR")
    return Path(next(iter(spec.submodule_search_locations)))


def read_torch_version(package_dir: Path) -> str:
    """``__version__`` from torch/version.py."""
    try:
        text = (package_dir / "version.py").read_text(encoding="utf-8")
    except OSError:
        text = ""
    match = _VERSION.search(text)
    if not match:
        raise UsageError(f"cannot tell the torch version: no __version__ in {package_dir / 'version.py'}",
                         fix="pass the torch package folder (the one holding version.py) as --torch-root")
    return match.group(1)


def locate_torch_tree(torch_root: str | Path | None = None) -> TorchTree:
    """Resolve --torch-root (a torch package folder or its include folder; default: installed torch)."""
    root = Path(torch_root).expanduser() if torch_root else installed_torch_dir()
    if not root.is_dir():
        raise UsageError(f"--torch-root {root} is not a folder")
    if (root / "include" / "torch").is_dir():
        package_dir, include_dir = root, root / "include"
    elif (root / "torch").is_dir() and root.name == "include":
        package_dir, include_dir = root.parent, root
    else:
        raise UsageError(f"{root} is neither a torch package folder nor its include folder "
                         "(no include/torch or torch/ inside)",
                         fix="pass e.g. <site-packages>/torch or <site-packages>/torch/include")
    return TorchTree(package_dir.resolve(), include_dir.resolve(), read_torch_version(package_dir))

"""The CUDA test tier's venv: the package index's CUDA build of torch 2.13.0 (CUDA 13.0).

Made once per test session. pip runs with ``--isolated`` so that no pip configuration of the
machine (such as a find-links folder holding only the CPU wheel, which wins on version order)
decides which torch comes; pip's cache is kept, so a second session does not download the
~4.7 GB of torch and NVIDIA's library wheels again. ``nvidia-cuda-cuobjdump`` gives verify
its register check where the toolkit has no cuobjdump.

The tier needs an nvcc (``$CUDA_HOME``, ``nvcc`` on PATH or ``/usr/local/cuda``): no GPU.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CUDA_TORCH = "torch==2.13.0"
CUOBJDUMP = "nvidia-cuda-cuobjdump>=13,<14"


def system_nvcc() -> Path | None:
    """The nvcc a build would find without help, or None."""
    for candidate in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if candidate and (Path(candidate) / "bin" / "nvcc").is_file():
            return Path(candidate) / "bin" / "nvcc"
    found = shutil.which("nvcc")
    return Path(found) if found else None


def make_cuda_venv(root: Path) -> dict:
    """A fresh venv with the index's CUDA torch and this project; its own mmbuild cache under ``root``."""
    folder = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--isolated", "--disable-pip-version-check",
                    CUDA_TORCH, CUOBJDUMP, "-e", str(REPO)], check=True, timeout=3600)
    facts = subprocess.run([python, "-c", "import json, torch; print(json.dumps("
                            "{'version': torch.__version__, 'cuda': torch.version.cuda}))"],
                           capture_output=True, text=True, check=True, timeout=300)
    torch = json.loads(facts.stdout.strip().splitlines()[-1])
    if not torch["cuda"]:
        pytest.fail(f"the package index served a torch without CUDA: {torch['version']}")
    env = {**os.environ, "MMBUILD_CACHE_DIR": str(root / "cache"),
           "PATH": f"{folder / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    return {"python": python, "env": env, "root": root, "torch": torch, "site": _site_packages(python)}


def _site_packages(python: str) -> Path:
    out = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout
    return Path(out.strip())

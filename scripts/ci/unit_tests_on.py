"""Run mmbuild's unit tests on other Python versions, each in its own venv.

    python scripts/ci/unit_tests_on.py 3.9 3.13

An interpreter is found as ``python3.X`` on PATH, else under pyenv's versions folder. Each venv
lives in ``.venv-py3.X`` beside the repository's ``.venv`` and holds mmbuild (editable) with its
test extra; torch is not installed, so the few tests that need it skip. Exit code: 0 when every
version passed, 1 otherwise (a missing interpreter counts as a failure).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _runs(python: str, version: str) -> bool:
    """True when ``python`` starts and is ``version`` (a pyenv shim of an inactive version is not)."""
    check = f"import sys; sys.exit(sys.version.startswith('{version}.') is False)"
    return subprocess.run([python, "-c", check], capture_output=True).returncode == 0


def find_python(version: str) -> str | None:
    """``python3.X`` on PATH when it runs, else the newest pyenv install of 3.X."""
    on_path = shutil.which(f"python{version}")
    if on_path and _runs(on_path, version):
        return on_path
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        roots.insert(0, subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip())
    for root in filter(None, roots):
        found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python"))
        if found:
            return found[-1]
    return None


def run_on(version: str, pytest_args: list[str]) -> bool:
    python = find_python(version)
    if python is None:
        print(f"[{version}] no python{version} on PATH or under pyenv", flush=True)
        return False
    venv = REPO / f".venv-py{version}"
    started = time.monotonic()
    venv_python = str(venv / "bin" / "python")
    steps = [
        [python, "-m", "venv", "--clear", str(venv)],
        [venv_python, "-m", "pip", "install", "-q", "-e", f"{REPO}[test]"],
        [venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit", *pytest_args],
    ]
    for argv in steps:
        print(f"[{version}] {' '.join(argv[-4:])}", flush=True)
        if subprocess.run(argv, cwd=REPO).returncode != 0:
            print(f"[{version}] FAILED after {time.monotonic() - started:.0f} s", flush=True)
            return False
    print(f"[{version}] passed in {time.monotonic() - started:.0f} s", flush=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="e.g. 3.9 3.13")
    args, pytest_args = parser.parse_known_args()
    results = {v: run_on(v, pytest_args) for v in args.versions}
    print("unit tests: " + ", ".join(f"{v} {'passed' if ok else 'FAILED'}" for v, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

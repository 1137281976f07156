"""``mmbuild verify`` in the Python that mmcv was installed into: the install's acceptance test."""

from __future__ import annotations

import json
import sys

from mmbuild.util.process import run_command


def verify_in_target(python: str = sys.executable, *, stack: bool = True) -> dict:
    """``mmbuild verify --json`` in a child process of the target Python (import + numeric checks, and
    the installed downstream packages' stack checks unless ``stack`` is False)."""
    argv = [python, "-m", "mmbuild", "verify", "--json"] + ([] if stack else ["--no-stack"])
    result = run_command(argv, timeout=1800 if stack else 900)
    try:
        document = json.loads(result.stdout)
        if isinstance(document, dict) and "ok" in document:
            if not document["ok"]:
                document["error"] = (result.error or result.stderr.strip()[-500:]) or None
            return document
    except ValueError:
        pass
    text = result.error or (result.stderr or result.stdout).strip()[-500:]
    if "No module named mmbuild" in text:
        text = f"mmbuild is not installed in {python} (pip install mmbuild there to verify): {text}"
    return {"ok": False, "checks": [], "findings": [], "error": f"mmbuild verify did not report: {text}"}

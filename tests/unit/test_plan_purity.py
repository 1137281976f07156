"""The plan is pure: no torch import, no subprocess, no file opened but the knowledge tables."""

from __future__ import annotations

import builtins
import importlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
KNOWLEDGE = Path(importlib.import_module("mmbuild.knowledge").__file__).resolve().parent


def test_plan_runs_no_subprocess_imports_no_torch_and_reads_only_knowledge(monkeypatch) -> None:
    envs = [load_environment(p) for p in sorted(ENVS.glob("*.json"))]
    for name in [
        m for m in sys.modules if m == "mmbuild.plan" or m.startswith(("mmbuild.plan.", "mmbuild.knowledge"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "torch", raising=False)

    def refuse(*args, **kwargs):
        raise AssertionError(f"plan started a process: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    opened: list[Path] = []
    real_open, real_io_open = builtins.open, io.open

    def recording_open(file, *args, **kwargs):
        opened.append(Path(file).resolve())
        return real_open(file, *args, **kwargs)

    def recording_io_open(file, *args, **kwargs):
        opened.append(Path(file).resolve())
        return real_io_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(io, "open", recording_io_open)
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: recording_open(self, *a, **k))

    from mmbuild.plan import make_fleet_plan, make_plan

    for env in envs:
        make_plan(env, BuildOptions())
        make_plan(env, BuildOptions(arch="8.0,9.0", cpu_only=False))
    make_fleet_plan(envs[:3], BuildOptions())
    assert "torch" not in sys.modules
    assert opened, "the knowledge tables should have been read"
    assert all(p.parent == KNOWLEDGE and p.suffix == ".toml" for p in opened), opened


@pytest.mark.parametrize("module", ["mmbuild.plan.make", "mmbuild.plan.fleet",
                                    "mmbuild.plan.environment_checks"])
def test_plan_modules_do_not_import_io_modules(module: str) -> None:
    source = Path(importlib.import_module(module).__file__).read_text(encoding="utf-8")
    for forbidden in ("import subprocess", "import torch", "mmbuild.util.process", "mmbuild.probe"):
        assert forbidden not in source

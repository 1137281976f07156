"""The install stage: the new mmcv in, then the stack beside it, then verify; all undone on a failure.

install/wheel.py backs up the installed mmcv, installs the wheel with torch held and runs ``accept``:
here the stack install (install/stack.py, itself undone if its own ``accept`` fails) and verify.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from mmbuild.diagnose.summary import summarise_failure
from mmbuild.errors import VerifyFailedError
from mmbuild.install.installer import installer_for
from mmbuild.model.environment import Environment
from mmbuild.pipeline import stack
from mmbuild.pipeline.context import Run


def verify(run: Run, with_stack: bool) -> None:
    """``mmbuild verify`` in the target environment; raises VerifyFailedError (exit 5) on a failed check."""
    with run.trace.stage("verify", "the installed mmcv on every device present"):
        report = run.services.verify(run.settings.python, stack=with_stack)
    run.trace.verify = report
    if not report.get("ok"):
        checks = [c for c in report.get("checks", []) if c.get("status") == "fail"]
        failed = [f"{c.get('name')} ({c.get('device')}): {c.get('message') or c.get('id') or 'failed'}"
                  for c in checks]
        detail = "; ".join(failed[:3]) or report.get("error") or "no check results"
        # An import that fails is what the install's own import check would have caught: the
        # catalogue's fix for it (an undefined symbol, a wrong torch) says more than "run verify".
        load = [c.get("message") or "" for c in checks if c.get("kind") == "load"]
        summary = summarise_failure(load[0]) if load else None
        raise VerifyFailedError(f"the installed mmcv failed verification: {detail}",
                                fix=(summary and summary.fix) or "run 'mmbuild verify' for every check",
                                problem_id=summary.problem_id if summary else None)


def install_stack(run: Run, resolution, env: Environment, mmcv_wheel: Path,
                  accept: Callable[[], None] | None) -> None:
    """The downstream packages beside the new mmcv (pipeline/stack.py); undone if ``accept`` fails."""
    from mmbuild.install.stack import install_stack as install

    python = run.settings.python
    work = run.work.path / "stack"
    pins = ", ".join(f"{n} {v}" for n, v in stack.downstream_pins(resolution))
    with run.trace.stage("stack", f"{pins} (torch and the built mmcv held)") as step:
        targets, patched = stack.install_targets(resolution, python=python, work_dir=work)
        core = stack.installed_core(python)
        torch_version = core.get("torch", env.torch.version if env.torch else None)
        held = stack.held_versions(torch_version, mmcv_wheel, core.get("numpy"))
        if patched:
            step.detail += "; patched: " + ", ".join(f"{n} ({', '.join(p)})" for n, p in patched.items())
        result = install(targets, python=python, work_dir=work, constraints=held,
                         may_replace=stack.may_replace(resolution),
                         install_argv=installer_for(python).install_argv, accept=accept,
                         reinstall=list(patched))
    run.trace.stack_install = {**result.to_dict(), "patched": patched}


def install(run: Run, wheel: Path, env: Environment, resolution) -> None:
    """Install ``wheel`` (and the stack), accepted only once verify passes (when it runs)."""
    from mmbuild.install.wheel import IMPORT_CHECK, install_wheel

    core = stack.installed_core(run.settings.python)
    torch_version = core.get("torch") or (env.torch.version if env.torch else None)
    accept = functools.partial(verify, run, resolution is not None) if run.settings.verify else None
    # Verify's first checks import mmcv and _ext in the target Python: the install's own import
    # check would import torch once more. Before a stack install it stays: it fails fast.
    import_check = None if accept is not None and resolution is None else IMPORT_CHECK
    if resolution is not None:
        accept = functools.partial(install_stack, run, resolution, env, wheel, accept)
    with run.trace.stage("install", f"{wheel.name} (torch pinned to {torch_version})"):
        result = install_wheel(wheel, work_dir=run.work.path, torch_version=torch_version,
                               python=run.settings.python, accept=accept, import_check=import_check,
                               held=tuple(stack.numpy_hold(core.get("numpy"))))
    run.trace.install = result

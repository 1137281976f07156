"""The steps a real install or build would take, in words (``--dry-run``)."""

from __future__ import annotations

from mmbuild.errors import UsageError
from mmbuild.install.installer import installer_for
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.options import BuildOptions
from mmbuild.plan.toolkit import source_name
from mmbuild.util.cache_dirs import cache_dir


def _installer_name(python: str) -> str:
    """``pip`` or ``uv`` (install/installer.py); a dry run only says when there is neither."""
    try:
        return installer_for(python).name
    except UsageError as exc:
        return f"(no installer: {exc.message})"


def planned_steps(plan: BuildPlan, options: BuildOptions, settings, compiler_cache: str, *,
                  source_known: bool) -> list[tuple[str, str]]:
    """(stage, what it would do) for each stage; ``source_known``: the sdist is at hand."""
    sdists = cache_dir("sdists")
    steps = [("source", options.source or f"download the {plan.mmcv.requirement} sdist into {sdists}")]
    where = f"{cache_dir('wheels')}" + (f" or {options.wheelhouse}" if options.wheelhouse else "")
    if source_known:
        steps.append(("wheel", f"reuse the wheel of fingerprint {plan.fingerprint[:16]} from {where} "
                               "if present, else build it"))
    else:
        steps.append(("wheel", f"reuse a wheel from {where} if the fingerprint (known once the sdist "
                               "is downloaded) matches, else build it"))
    if plan.provision:
        where = source_name(plan.provision_from or "index")
        steps.append(("toolkit", f"fetch CUDA {plan.provision}'s compiler from {where} into "
                                 f"{plan.cuda_home} (kept for later builds)"))
    steps.append(("patch", ", ".join(plan.patches) or "none"))
    if plan.ops:
        steps.append(("subset", "compile only " + ", ".join(plan.ops) + " and what they call into"))
    if plan.narrow_includes:
        steps.append(("narrow-includes", "give each .cu unit only the torch headers it uses"))
    if plan.unity:
        steps.append(("unity", "compile the C++ units in groups (unity units)"))
    steps.append(("preflight", f"compile csrc_tests probes with -std={plan.cxx_std}"
                               + (f" and {' '.join(plan.gencode)}" if plan.target == "cuda" else "")))
    env_text = " ".join(f"{k}={v}" for k, v in sorted(plan.env.items()))
    installer = _installer_name(settings.python)
    build = ("uv build --wheel --no-build-isolation" if installer == "uv"
             else "pip wheel --no-build-isolation --no-deps")
    steps.append(("build", f"{env_text} {build} (compiler cache: {compiler_cache})"))
    if settings.install:
        command = "uv pip" if installer == "uv" else installer
        steps.append(("install", f"back up the installed mmcv, {command} install the wheel with torch "
                                 "pinned, import check, restore on failure"))
        if settings.verify:
            steps.append(("verify", "mmbuild verify"))
    else:
        steps.append(("wheelhouse", f"copy the wheel to {settings.out_dir}"))
    return steps

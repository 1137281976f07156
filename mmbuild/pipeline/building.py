"""The build stage: patch and cut down the tree, fetch the toolkit, preflight, build, retry with a remedy.

Each automatic remedy (``plan/remedies.py``) retries once with one option changed (fewer jobs, an older
arch of the same major) and a plan of its own; the user's options are never changed.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
from collections.abc import Callable
from pathlib import Path

from mmbuild.build.compiler_cache import compiler_cache_env, compiler_cache_run
from mmbuild.build.tools import BuildTools, resolve_build_tools
from mmbuild.diagnose.summary import summarise_failure
from mmbuild.errors import BuildFailedError, MmbuildError
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.options import BuildOptions
from mmbuild.pipeline.context import Run
from mmbuild.pipeline.records import BuiltWheel, PreparedTree, SourceRecord
from mmbuild.pipeline.sources import extract
from mmbuild.pipeline.trace import Trace
from mmbuild.util.cache_dirs import cache_dir
from mmbuild.util.console import say

Replan = Callable[[BuildOptions], BuildPlan]


def prepare_tree(run: Run, plan: BuildPlan, source: SourceRecord, env: Environment) -> PreparedTree:
    """The extracted tree with the plan's patches applied, with ``--ops`` only those ops' sources,
    with narrow torch includes in its ``.cu`` units and its C++ units grouped when the plan says so."""
    from mmbuild.patching import apply_patches, current_platform
    from mmbuild.patching.torch_headers import prepare_torch_headers, split_patch_ids

    source = extract(run.trace, source, run.work.path)
    run.trace.source = source               # a failed build's report names the tree it failed in
    tree = source.tree
    source_ids, header_ids = split_patch_ids(plan.patches)
    if header_ids:
        with run.trace.stage("patch-torch", ", ".join(header_ids)):
            prepare_torch_headers(header_ids, consent=run.options.patch_torch)
    with run.trace.stage("patch", ", ".join(source_ids) or "none"):
        report = apply_patches(tree.root, source_ids, package=tree.package, version=tree.version,
                               platform=current_platform(), specs_dir=run.settings.specs_dir,
                               manifest_path=run.work.path / "patch-manifest.json")
    subset = None
    if plan.ops:
        from mmbuild.subset import apply_subset

        with run.trace.stage("subset", ", ".join(plan.ops)):
            subset = apply_subset(tree.root, plan.ops, target=plan.target).to_dict()
    narrowed = narrow_includes(run.trace, plan, tree.root, env)
    return PreparedTree(source, report.to_dict(), subset, narrowed, unity(run.trace, plan, tree.root))


def narrow_includes(trace: Trace, plan: BuildPlan, tree: Path, env: Environment) -> dict | None:
    """Narrow the ``.cu`` units' torch includes (build/narrow_includes.py); what was done, or None."""
    if not plan.narrow_includes or not (env.torch and env.torch.path):
        return None
    from mmbuild.build.narrow_includes import narrow_tree

    with trace.stage("narrow-includes", "the .cu units' torch headers") as step:
        report = narrow_tree(tree, Path(env.torch.path) / "include")
        step.detail = f".cu units: {report.summary()}"
    return report.to_dict()


def unity(trace: Trace, plan: BuildPlan, tree: Path) -> dict | None:
    """Group the C++ units into unity units (build/unity.py); what was done, or None."""
    if not plan.unity:
        return None
    from mmbuild.build.unity import unity_tree

    with trace.stage("unity", "the C++ units in groups") as step:
        report = unity_tree(tree)
        step.detail = report.summary()
    return report.to_dict()


def provision_toolkit(trace: Trace, plan: BuildPlan, env: Environment, python: str) -> Path:
    """Fetch the plan's CUDA toolkit (package index or NVIDIA's archives) into the toolkit store, or
    reuse it; torch's runtime wheel picks the release of NVIDIA's archives."""
    from mmbuild.plan.toolkit import source_name
    from mmbuild.toolkits.provision import provision_toolkit as provision

    version, source = plan.provision, plan.provision_from or "index"
    site_dir = os.path.dirname(env.torch.path) if env.torch and env.torch.path else None
    with trace.stage("toolkit", f"CUDA {version} from {source_name(source)}") as step:
        home = provision(version, python, source=source, site_dir=site_dir)
        step.detail += f": {home}"
    if os.path.realpath(home) != os.path.realpath(plan.cuda_home):
        raise MmbuildError(f"the provisioned toolkit is at {home}, not at {plan.cuda_home} "
                           "where the plan expects it")
    return home


def build_env(run: Run, plan: BuildPlan, tools: BuildTools, tree: Path) -> dict[str, str]:
    """The plan's variables, the compilers of this attempt (build/tools.py) and the compiler cache."""
    env = {"CXX": tools.cxx, **plan.env}
    if tools.nvcc:
        env["PYTORCH_NVCC"] = tools.nvcc       # torch runs this nvcc; the preflight probes the same
    env.update(compiler_cache_env(run.compiler_cache, cxx=tools.cxx, nvcc=tools.nvcc,
                                  wrapper_dir=run.work.path / "compiler-wrappers", source_root=tree))
    if plan.narrow_includes and env.get("PYTORCH_NVCC"):
        from mmbuild.build.narrow_compile import wrapper_command

        env["PYTORCH_NVCC"] = wrapper_command(shlex.split(env["PYTORCH_NVCC"]))
    return env


def pch_env(run: Run, plan: BuildPlan, env: dict[str, str], tools: BuildTools, tree: Path) -> dict[str, str]:
    """The precompiled-header wrapper's variables on top of ``env`` (the build's, not the preflight's)."""
    from mmbuild.build.compiler_cache import find_tool
    from mmbuild.build.pch import pch_env as wrapper_env
    from mmbuild.build.pch import prepare_pch

    files = prepare_pch(tree) if plan.pch else None
    if files is None:
        return {}
    return wrapper_env(files, cache_kind=run.compiler_cache, cache_tool=find_tool(run.compiler_cache),
                       cxx=tools.cxx, wrapper_dir=run.work.path / "compiler-wrappers",
                       user_env={**os.environ, **env}, store=cache_dir("pch"))


def preflight(run: Run, plan: BuildPlan, env_vars: dict[str, str], env: Environment) -> None:
    from mmbuild.build.preflight import run_preflight

    detail = f"compile csrc_tests probes ({plan.target}, -std={plan.cxx_std})"
    with run.trace.stage("preflight", detail):
        run_preflight(plan, env_vars, run.work.path / "preflight", gpu_present=bool(env.gpus),
                      python=run.settings.python, torch_dir=env.torch.path if env.torch else None,
                      settings_folder=cache_dir("torch"))


def build_once(run: Run, plan: BuildPlan, tools: BuildTools, tree: Path) -> Path:
    """One attempt of the build frontend; its log is named in the trace before it starts."""
    env = build_env(run, plan, tools, tree)
    env.update(pch_env(run, plan, env, tools, tree))
    log = cache_dir("logs") / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{plan.fingerprint[:12]}.log"
    run.trace.log = log
    say(f"    full build log: {log}")
    with run.trace.stage("build", f"{plan.mmcv.requirement}, {plan.max_jobs} jobs") as step:
        with compiler_cache_run(run.compiler_cache, env) as cache_run:
            result = run.services.build_wheel(tree, run.work.path / "dist", env=env, log_path=log,
                                              python=run.settings.python, verbose=run.settings.verbose)
        step.detail += f"; compiler cache: {cache_run.summary()}"
        wrapped = plan.narrow_includes or plan.unity           # their wrappers note fallbacks in the log
        text = log.read_text(encoding="utf-8", errors="replace") if wrapped and log.is_file() else None
        if plan.narrow_includes and text is not None:
            from mmbuild.build.narrow_compile import describe_fallbacks

            step.detail += describe_fallbacks(text)
        if plan.unity and text is not None:
            from mmbuild.build.unity_compile import describe_fallbacks as unity_fallbacks

            step.detail += unity_fallbacks(text)
        if plan.pch:
            from mmbuild.build.pch import describe_pch  # fcntl: not imported on Windows

            step.detail += describe_pch(tree)
    return result.wheel


def explain(exc: BuildFailedError, log: Path | None):
    """The failure's catalogue id, fix and first error line, put on ``exc``; returns the summary."""
    text = log.read_text(encoding="utf-8", errors="replace") if log and log.is_file() else ""
    summary = summarise_failure(text)
    exc.problem_id, exc.fix = summary.problem_id, summary.fix
    if summary.excerpt:
        exc.message = f"{exc.message}; line {summary.line}: {summary.excerpt[:300]}"
    return summary


def build(run: Run, plan: BuildPlan, options: BuildOptions, tree: Path, env: Environment,
          replan: Replan) -> BuiltWheel:
    """Preflight once, then build; after a failure with a remedy, replan and build again."""
    from mmbuild.plan.remedies import remedy_for

    tools = resolve_build_tools(plan)      # once per attempt, for preflight and build
    if run.settings.preflight:
        preflight(run, plan, build_env(run, plan, tools, tree), env)
    tried: set[str | None] = set()
    while True:
        try:
            return BuiltWheel(build_once(run, plan, tools, tree), plan)
        except BuildFailedError as exc:
            summary = explain(exc, run.trace.log)
            found = None if summary.problem_id in tried else remedy_for(summary.problem_id, plan, env,
                                                                        summary.extracted)
            if found is None:
                raise
            options = dataclasses.replace(options, **found.changes)
            plan = replan(options)
            say(f"    {found.message}; retrying")
            tried.add(summary.problem_id)
            tools = resolve_build_tools(plan)      # the remedy's attempt has a plan of its own

"""The install and build pipelines: the stages in order, each recorded in a report.

    probe -> plan -> (blocked: exit 3) -> source (the fingerprint covers its sha256)
          -> wheel from the wheelhouse or the cache, else:
             extract -> patch -> preflight -> build -> embed metadata -> store in the cache
          -> install -> verify                     (``mmbuild build`` stops after the wheel)

Nothing in the user's environment changes before a wheel exists: every stage up to the
build works in a private folder under the cache root. The fingerprint's lock is held from
the cache lookup until the wheel is stored, so concurrent runs build it once.

This module only sequences the stages (and is the longest for it); each stage's work lives in its
own module. The plan is made once per attempt: the first from the user's options (with ``--source``,
for the version of that source), and one more for each automatic remedy after a failed build. The
remedies are the plan's policy (``plan/remedies.py``): each retries once with one option changed
(fewer jobs, an older arch of the same major). The user's options are never changed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from mmbuild.build.compiler_cache import choose_compiler_cache, compiler_cache_env, compiler_cache_run
from mmbuild.build.tools import BuildTools, resolve_build_tools
from mmbuild.build.wheel import build_wheel, summarise_failure
from mmbuild.errors import BlockedError, BuildFailedError, MmbuildError, VerifyFailedError
from mmbuild.install.installer import installer_for
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.options import BuildOptions
from mmbuild.pipeline.report import PipelineReport, Step
from mmbuild.plan.fingerprint import with_source
from mmbuild.source.sdist import (
    SourceArchive,
    SourceTree,
    cached_sdist,
    download_sdist,
    locate_user_source,
    prepare_tree,
)
from mmbuild.util.cache_dirs import cache_dir, sweep_dead_runs
from mmbuild.util.console import say
from mmbuild.verify.in_target import verify_in_target
from mmbuild.wheels.metadata import METADATA_MEMBER, build_metadata, embed_in_wheel
from mmbuild.wheels.relabel import relabel_wheel
from mmbuild.wheels.store import CacheEntry, Wheelhouse, WheelStore


@dataclass
class PipelineSettings:
    """How to run the pipeline (beyond the build options)."""

    dry_run: bool = False
    verbose: bool = False
    verify: bool = True
    install: bool = True
    out_dir: Path | None = None            # ``mmbuild build --out``
    python: str = sys.executable
    from_envs: list[Environment] | None = None     # nodes the wheel must also run on (fleet)
    from_env_names: list[str] = field(default_factory=list)
    live_probe: bool = True                        # False: from_envs[0] stands in for this machine
    preflight: bool = True
    specs_dir: Path | None = None          # patch specs (default: the shipped patches/)
    planner: Callable[..., BuildPlan] | None = None   # default: mmbuild.plan.make_plan


class Pipeline:
    """One run of install or build; ``report`` is filled as stages complete."""

    def __init__(self, options: BuildOptions, settings: PipelineSettings, command: str = "install"):
        self.options = options                # what the user asked for
        self.attempt_options = options        # what the current attempt was planned with
        self.settings = settings
        self.report = PipelineReport(command)
        self.wheel_store = WheelStore()
        self.env: Environment | None = None
        self.plan: BuildPlan | None = None
        self.archive: SourceArchive | None = None
        self.tree: SourceTree | None = None
        self.compiler_cache = "none"
        self.work_dir: Path | None = None
        self.patch_report: dict | None = None
        self.subset: dict | None = None
        self.patch_digests: dict[str, str] = {}
        self.stack = None                     # the resolved stack (pipeline/stack.py), when asked for

    # -- bookkeeping ------------------------------------------------------------------------

    @contextlib.contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[Step]:
        step = Step(name, "running", detail)
        self.report.steps.append(step)   # in the order the stages start (verify runs inside install)
        say(f"==> {name}{': ' + detail if detail else ''}")
        started = time.monotonic()
        try:
            yield step
            step.status = "done"
        except BaseException:
            step.status = "failed"
            raise
        finally:
            step.seconds = round(time.monotonic() - started, 2)

    def planned(self, name: str, detail: str) -> None:
        self.report.steps.append(Step(name, "planned", detail))

    # -- stages -----------------------------------------------------------------------------

    def probe(self) -> Environment:
        """This machine (it builds); ``from_envs`` are the nodes the wheel must also run on."""
        if not self.settings.live_probe and self.settings.from_envs:
            self.env = self.settings.from_envs[0]
            return self.env
        with self.stage("probe", "reading this machine"):
            from mmbuild.probe import probe_environment

            self.env = probe_environment()
        return self.env

    def resolve_stack(self) -> BuildOptions:
        """Resolve the requested downstream packages; the options of the mmcv they all accept."""
        from mmbuild.pipeline.stack import options_for, resolve_requests

        requested = " ".join([*self.options.requests, *(f"-r {f}" for f in self.options.requirement_files)])
        with self.stage("resolve", requested) as step:
            self.stack = resolve_requests(self.options, self.env, self.settings.python)
            self.report.stack = self.stack.to_dict()
            pins = ", ".join(f"{p.name} {p.version}" for p in self.stack.downstream)
            engine = f", {self.stack.mmengine}" if self.stack.mmengine else ""
            step.detail = f"{pins}; {self.stack.mmcv}{engine}"
        return options_for(self.options, self.stack)

    def nodes(self) -> list[Environment]:
        if not self.settings.live_probe:
            return self.settings.from_envs or [self.env]
        return [self.env, *(self.settings.from_envs or [])]

    def plan_attempt(self, options: BuildOptions) -> BuildPlan:
        """The plan of one attempt, made once; its fingerprint covers the source once that is known."""
        from mmbuild.pipeline.stack import env_for_plan, plan_with_stack

        envs = self.nodes()
        envs[0] = env_for_plan(envs[0], self.stack)
        digests = self.patch_digests
        if self.settings.planner is not None:
            plan = self.settings.planner(envs[0], options, patch_digests=digests)
        elif len(envs) > 1:
            from mmbuild.plan import make_fleet_plan

            names = ["this machine", *self.settings.from_env_names]
            plan = make_fleet_plan(envs, options, names=names[:len(envs)], patch_digests=digests)
        else:
            from mmbuild.plan import make_plan

            plan = make_plan(envs[0], options, patch_digests=digests)
        self.attempt_options = options
        plan = plan_with_stack(plan, self.stack)
        self.plan = with_source(plan, self.archive.sha256) if self.archive else plan
        self.report.plan = self.plan.to_dict()
        return self.plan

    def check_blocked(self) -> None:
        errors = [f for f in self.plan.findings if f.severity == "error"]
        if errors:
            first = errors[0]
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            raise BlockedError(f"{first.message}{more}", fix=first.fix or None, problem_id=first.id)

    def locate_source(self) -> SourceArchive:
        """``--source`` as given, or the plan's sdist from the cache or the index."""
        if self.options.source:
            with self.stage("source", self.options.source):
                self.archive = locate_user_source(self.options.source)
        else:
            mmcv = self.plan.mmcv
            with self.stage("source", f"sdist of {mmcv.requirement}"):
                self.archive = download_sdist(mmcv.package, mmcv.version, python=self.settings.python)
        self.source_known()
        return self.archive

    def source_known(self) -> None:
        """Record the source; the plan made before it was known gets its fingerprint."""
        self.report.source = {"path": str(self.archive.path), "sha256": self.archive.sha256,
                              "kind": self.archive.kind, "origin": self.archive.origin}
        if self.plan is not None:
            self.plan = with_source(self.plan, self.archive.sha256)
            self.report.plan = self.plan.to_dict()

    def new_work_dir(self) -> Path:
        base = cache_dir("work")
        base.mkdir(parents=True, exist_ok=True)
        for dead in sweep_dead_runs(base):
            say(f"    removed the work folder of a run that died: {dead}")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.work_dir = base / f"{stamp}-{os.getpid()}"
        self.work_dir.mkdir()
        return self.work_dir

    def extract(self) -> SourceTree:
        if self.tree is not None:
            return self.tree
        work = self.work_dir or self.new_work_dir()
        with self.stage("extract", str(self.archive.path.name)):
            self.tree = prepare_tree(self.archive, work / "src")
        if self.report.source is not None:
            self.report.source.update(package=self.tree.package, version=self.tree.version,
                                      tree=str(self.tree.root))
        return self.tree

    def patch(self) -> None:
        from mmbuild.patching import apply_patches, current_platform
        from mmbuild.patching.torch_headers import prepare_torch_headers, split_patch_ids

        source_ids, header_ids = split_patch_ids(self.plan.patches)
        if header_ids:
            with self.stage("patch-torch", ", ".join(header_ids)):
                prepare_torch_headers(header_ids, consent=self.options.patch_torch)
        with self.stage("patch", ", ".join(source_ids) or "none"):
            report = apply_patches(self.tree.root, source_ids, package=self.tree.package,
                                   version=self.tree.version, platform=current_platform(),
                                   specs_dir=self.settings.specs_dir,
                                   manifest_path=self.work_dir / "patch-manifest.json")
            self.patch_report = report.to_dict()

    def apply_subset(self) -> None:
        """Keep only the sources of ``--ops`` (and what they call into) in the patched tree."""
        from mmbuild.subset import apply_subset

        with self.stage("subset", ", ".join(self.plan.ops)):
            self.subset = apply_subset(self.tree.root, self.plan.ops, target=self.plan.target).to_dict()

    def provision_toolkit(self) -> Path:
        """Fetch the plan's CUDA toolkit (package index or NVIDIA's archives) into the toolkit store, or
        reuse it; torch's runtime wheel picks the release of NVIDIA's archives."""
        from mmbuild.plan.toolkit import source_name
        from mmbuild.toolkits.provision import provision_toolkit

        version, source = self.plan.provision, self.plan.provision_from or "index"
        torch = self.env.torch if self.env else None
        site_dir = os.path.dirname(torch.path) if torch and torch.path else None
        with self.stage("toolkit", f"CUDA {version} from {source_name(source)}") as step:
            home = provision_toolkit(version, self.settings.python, source=source, site_dir=site_dir)
            step.detail += f": {home}"
        if os.path.realpath(home) != os.path.realpath(self.plan.cuda_home):
            raise MmbuildError(f"the provisioned toolkit is at {home}, not at {self.plan.cuda_home} "
                               "where the plan expects it")
        return home

    def build_env(self, tools: BuildTools) -> dict[str, str]:
        """The plan's variables, the compilers of this attempt (build/tools.py) and the compiler cache."""
        env = dict(self.plan.env)
        if tools.nvcc:
            env["PYTORCH_NVCC"] = tools.nvcc       # torch runs this nvcc; the preflight probes the same
        env.update(compiler_cache_env(self.compiler_cache, cxx=tools.cxx, nvcc=tools.nvcc,
                                      wrapper_dir=self.work_dir / "compiler-wrappers",
                                      source_root=self.tree.root))
        return env

    def pch_env(self, env: dict[str, str], tools: BuildTools) -> dict[str, str]:
        """The precompiled-header wrapper's variables on top of ``env`` (the build's, not the preflight's)."""
        from mmbuild.build.compiler_cache import find_tool
        from mmbuild.build.pch import pch_env, prepare_pch

        files = prepare_pch(self.tree.root) if self.plan.pch else None
        if files is None:
            return {}
        return pch_env(files, cache_kind=self.compiler_cache, cache_tool=find_tool(self.compiler_cache),
                       cxx=tools.cxx,
                       wrapper_dir=self.work_dir / "compiler-wrappers",
                       user_env={**os.environ, **env}, store=cache_dir("pch"))

    def pch_summary(self) -> str:
        if not self.plan.pch:
            return ""
        from mmbuild.build.pch import describe_pch  # fcntl: not imported on Windows

        return describe_pch(self.tree.root)

    def preflight(self, env: dict[str, str]) -> None:
        from mmbuild.build.preflight import run_preflight

        detail = f"compile csrc_tests probes ({self.plan.target}, -std={self.plan.cxx_std})"
        with self.stage("preflight", detail):
            run_preflight(self.plan, env, self.work_dir / "preflight",
                          gpu_present=bool(self.env and self.env.gpus), python=self.settings.python)

    def build(self, tools: BuildTools) -> Path:
        """Build the wheel, with the automatic remedies of the module docstring."""
        logs = cache_dir("logs")
        tried: set[str] = set()
        while True:
            env = self.build_env(tools)
            env.update(self.pch_env(env, tools))
            log = logs / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{self.plan.fingerprint[:12]}.log"
            self.report.log = str(log)
            say(f"    full build log: {log}")
            try:
                with self.stage("build", f"{self.plan.mmcv.requirement}, {self.plan.max_jobs} jobs") as step:
                    with compiler_cache_run(self.compiler_cache, env) as cache_run:
                        result = build_wheel(self.tree.root, self.work_dir / "dist", env=env, log_path=log,
                                             python=self.settings.python, verbose=self.settings.verbose)
                    step.detail += f"; compiler cache: {cache_run.summary()}"
                    step.detail += self.pch_summary()
                return result.wheel
            except BuildFailedError as exc:
                text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
                summary = summarise_failure(text)
                exc.problem_id = summary.problem_id
                exc.fix = summary.fix
                if summary.excerpt:
                    exc.message = f"{exc.message}; line {summary.line}: {summary.excerpt[:300]}"
                remedy = self.remedy(summary.problem_id, summary.extracted, tried)
                if remedy is None:
                    raise
                say(f"    {remedy}; retrying")
                tried.add(summary.problem_id)
                tools = resolve_build_tools(self.plan)      # the remedy's attempt has a plan of its own

    def remedy(self, problem_id: str | None, extracted: dict, tried: set[str]) -> str | None:
        """Change the options for one retry (plan/remedies.py); None when there is no remedy left."""
        from mmbuild.plan.remedies import remedy_for

        found = None if problem_id in tried else remedy_for(problem_id, self.plan, self.env, extracted)
        if found is None:
            return None
        self.plan_attempt(replace(self.attempt_options, **found.changes))
        self.check_blocked()
        return found.message

    def embed_metadata(self, wheel: Path) -> Path:
        """Embed the build metadata and give the wheel its local version label; returns its new path."""
        document = build_metadata(self.plan, self.env, patches=self.plan.patches,
                                  source_sha256=self.archive.sha256, compiler_cache=self.compiler_cache)
        if self.patch_report:
            document["patch_report"] = self.patch_report.get("hunks", [])
        if self.subset:
            document["ops"] = self.subset["built_ops"]
            document["subset"] = self.subset
        embed_in_wheel(wheel, METADATA_MEMBER, json.dumps(document, indent=2).encode())
        return relabel_wheel(wheel, document["wheel_version"])

    def cache_entry(self) -> CacheEntry:
        return CacheEntry(fingerprint=self.plan.fingerprint, wheel="", sha256="",
                          package=self.plan.mmcv.package, version=self.plan.mmcv.version,
                          target=self.plan.target, arch_list=list(self.plan.arch_list),
                          plan=self.plan.to_dict())

    def obtain_wheel(self) -> Path:
        """The wheel of the final plan: wheelhouse, cache, or a build (under the fingerprint's lock)."""
        fingerprint = self.plan.fingerprint
        house = Wheelhouse(Path(self.options.wheelhouse)) if self.options.wheelhouse else None
        from mmbuild.wheels.choose import wheel_from_wheelhouse

        if house and (found := wheel_from_wheelhouse(house.folder, self.plan, self.env,
                                                     arch_given=bool(self.options.arch))):
            self.report.cache = "wheelhouse"
            self.report.steps.append(Step("wheel", "done", f"from the wheelhouse: {found[0]} ({found[1]})"))
            return found[0]
        waited = []
        with self.wheel_store.locked(fingerprint, on_wait=lambda: (waited.append(1), say(
                "==> waiting for another mmbuild that is building the same wheel"))):
            found = self.wheel_store.lookup(fingerprint)
            if found:
                wheel = found[0]
                self.report.cache = "hit"
                self.report.steps.append(Step("wheel", "done", f"from the cache: {wheel}"))
            else:
                self.extract()
                self.patch()
                if self.plan.ops:
                    self.apply_subset()
                if self.plan.provision:
                    self.provision_toolkit()
                tools = resolve_build_tools(self.plan)      # once per attempt, for preflight and build
                if self.settings.preflight:
                    self.preflight(self.build_env(tools))
                built = self.build(tools)
                built = self.embed_metadata(built)
                wheel = self.wheel_store.store(built, self.cache_entry())
                self.report.cache = "built"
        if house:
            house.add(wheel, self.cache_entry())
        return wheel

    def install(self, wheel: Path) -> None:
        from mmbuild.install.wheel import install_wheel
        from mmbuild.pipeline.stack import installed_core, numpy_hold

        core = installed_core(self.settings.python)
        torch_version = core.get("torch") or (self.env.torch.version if self.env and self.env.torch else None)
        with self.stage("install", f"{wheel.name} (torch pinned to {torch_version})"):
            accept = self.verify if self.settings.verify else None
            if self.stack is not None:
                accept = functools.partial(self.install_stack, wheel, accept)
            result = install_wheel(wheel, work_dir=self.work_dir or self.new_work_dir(),
                                   torch_version=torch_version, python=self.settings.python,
                                   accept=accept, held=tuple(numpy_hold(core.get("numpy"))))
        self.report.install = result.__dict__

    def install_stack(self, mmcv_wheel: Path, accept: Callable[[], None] | None) -> None:
        """The downstream packages beside the new mmcv (pipeline/stack.py); undone if ``accept`` fails."""
        from mmbuild.install.stack import install_stack
        from mmbuild.pipeline import stack

        torch_version = self.env.torch.version if self.env and self.env.torch else None
        work = (self.work_dir or self.new_work_dir()) / "stack"
        pins = ", ".join(f"{n} {v}" for n, v in stack.downstream_pins(self.stack))
        with self.stage("stack", f"{pins} (torch and the built mmcv held)") as step:
            targets, patched = stack.install_targets(self.stack, python=self.settings.python, work_dir=work)
            core = stack.installed_core(self.settings.python)
            held = stack.held_versions(core.get("torch", torch_version), mmcv_wheel, core.get("numpy"))
            if patched:
                step.detail += "; patched: " + ", ".join(f"{n} ({', '.join(p)})" for n, p in patched.items())
            result = install_stack(targets, python=self.settings.python, work_dir=work,
                                   constraints=held,
                                   may_replace=stack.may_replace(self.stack),
                                   install_argv=self.installer_argv, accept=accept, reinstall=list(patched))
        self.report.stack_install = {**result.to_dict(), "patched": patched}

    def installer_argv(self, targets: list[str], constraints: Path) -> list[str]:
        """The target environment's installer command for ``targets`` under ``constraints``."""
        return installer_for(self.settings.python).install_argv(targets, constraints)

    def verify(self) -> None:
        with self.stage("verify", "the installed mmcv on every device present"):
            self.report.verify = verify_in_target(self.settings.python, stack=self.stack is not None)
        if not self.report.verify.get("ok"):
            failed = [f"{c.get('name')} ({c.get('device')}): {c.get('message') or c.get('id') or 'failed'}"
                      for c in self.report.verify.get("checks", []) if c.get("status") == "fail"]
            detail = "; ".join(failed[:3]) or self.report.verify.get("error") or "no check results"
            raise VerifyFailedError(f"the installed mmcv failed verification: {detail}",
                                    fix="run 'mmbuild verify' for every check")

    def describe_steps(self) -> None:
        """The steps a real run would take (``--dry-run``)."""
        from mmbuild.pipeline.dry_run import planned_steps

        for name, detail in planned_steps(self.plan, self.options, self.settings, self.compiler_cache,
                                          source_known=self.archive is not None):
            self.planned(name, detail)
        if self.stack is not None and self.settings.install:
            from mmbuild.pipeline.stack import downstream_pins

            pins = ", ".join(f"{n}=={v}" for n, v in downstream_pins(self.stack))
            self.planned("stack", f"install {pins} beside the new mmcv (torch and mmcv held), then verify")

    # -- the whole run ----------------------------------------------------------------------

    def run(self) -> PipelineReport:
        started = time.monotonic()
        try:
            self._run()
        except MmbuildError as exc:
            self.report.error = {"message": exc.message, "fix": exc.fix, "problem_id": exc.problem_id,
                                 "exit_code": exc.exit_code}
            raise
        finally:
            if self.work_dir:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            self.report.seconds = round(time.monotonic() - started, 2)
        return self.report

    def _run(self) -> None:
        self.compiler_cache = choose_compiler_cache(self.options.compiler_cache)
        if not self.settings.dry_run:
            self.wheel_store.check_writable()
            # The installer every later step uses; neither pip nor uv is a usage error before anything runs.
            say(f"    installer: {installer_for(self.settings.python).describe()}")
        self.probe()
        options = self.resolve_stack() if self.options.wants_stack else self.options
        if options.source:
            # The version to plan for is the one of the given source.
            self.locate_source()
            self.new_work_dir()
            self.extract()
            options = replace(options, mmcv=f"{self.tree.package}=={self.tree.version}")
        from mmbuild.patching import spec_digests

        self.patch_digests = spec_digests(self.settings.specs_dir)
        with self.stage("plan", "deciding every build setting"):
            self.plan_attempt(options)
        self.check_blocked()
        if self.settings.dry_run:
            if self.archive is None:
                self.archive = cached_sdist(self.plan.mmcv.package, self.plan.mmcv.version)
                if self.archive is not None:
                    self.source_known()
            self.describe_steps()
            return
        if self.archive is None:
            self.locate_source()
        say(f"    fingerprint {self.plan.fingerprint[:16]}")
        wheel = self.obtain_wheel()
        self.report.wheel = str(wheel)
        if self.settings.out_dir is not None:
            with self.stage("wheelhouse", str(self.settings.out_dir)):
                placed = Wheelhouse(self.settings.out_dir).add(wheel, self.cache_entry())
            self.report.wheel = str(placed)
        if not self.settings.install:
            return
        self.install(wheel)   # verifies before it keeps the new mmcv

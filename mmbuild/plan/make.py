"""make_plan: every build setting, decided from an Environment and the user's options.

Pure: no subprocess, no torch import, no file I/O beyond the knowledge tables. The order follows
the dependencies between decisions: mmcv version, target and toolkit, arches, THREADS_PER_BLOCK,
C++ standard with the host compiler, MAX_JOBS, the host toolchain's settings (plan/toolchain/), driver,
patches, fingerprint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from mmbuild.model.build_plan import BuildPlan, Decision, MmcvChoice, Toolchain
from mmbuild.model.environment import CudaToolkit, Environment
from mmbuild.model.findings import Finding, merge_findings
from mmbuild.model.identity import BuildIdentity
from mmbuild.model.options import BuildOptions
from mmbuild.plan.arch_list import format_arch_list
from mmbuild.plan.build_requires import check_build_requires
from mmbuild.plan.build_toolchain import fingerprint_inputs as toolchain_fingerprint_inputs
from mmbuild.plan.build_toolchain import resolve_toolchain
from mmbuild.plan.compiler import CompilerChoice
from mmbuild.plan.cuda_args import ArchRequest, arch_request, join_cuda_args, split_cuda_args
from mmbuild.plan.cuda_headers import cpath_value, resolve_cuda_headers
from mmbuild.plan.debug_info import choose_debug_info
from mmbuild.plan.engine import check_engine
from mmbuild.plan.environment_checks import driver_findings, environment_findings
from mmbuild.plan.fingerprint import fingerprint
from mmbuild.plan.gencode import fit_to_toolkit, gencode_flags
from mmbuild.plan.jobs import choose_jobs
from mmbuild.plan.mmcv_version import choose_mmcv
from mmbuild.plan.narrow_includes import choose_narrow_includes
from mmbuild.plan.nvcc_threads import choose_nvcc_threads, without_nvcc_threads
from mmbuild.plan.patches import mmcv_patches
from mmbuild.plan.pch import choose_pch
from mmbuild.plan.python_flags import choose_python_flags
from mmbuild.plan.switch import Switch
from mmbuild.plan.target import choose_target
from mmbuild.plan.threads import choose_threads_per_block
from mmbuild.plan.toolchain import PlatformSettings, host_toolchain
from mmbuild.plan.toolkit import FETCH_SOURCES, source_name
from mmbuild.plan.torchvision import check_torchvision
from mmbuild.plan.unity import choose_unity
from mmbuild.wheels.local_version import local_label


@dataclass
class _Draft:
    """What the plan's steps add to: decisions, findings and the build's environment variables."""

    decisions: list[Decision] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    build_env: dict[str, str] = field(default_factory=lambda: {"MMCV_WITH_OPS": "1"})

    def decide(self, name: str, value: str, reason: str) -> None:
        self.decisions.append(Decision(name, value, reason))


@dataclass
class _CudaParts:
    arch_list: list = field(default_factory=list)
    gencode: list[str] = field(default_factory=list)
    cuda_args: list[str] = field(default_factory=list)
    user_args: list[str] = field(default_factory=list)
    threads: int | None = None


def _header_steps(draft: _Draft, env: Environment, target: str, compiler: CompilerChoice,
                  options: BuildOptions) -> tuple[Switch, Switch, Switch]:
    """How often torch's headers are compiled: the precompiled header, unity units, narrow includes."""
    pch = choose_pch(env, compiler.compiler, options.pch)
    draft.decide("precompiled header", "yes" if pch.enabled else "no", pch.reason)
    unity = choose_unity(pch, options.unity)
    draft.decide("unity units", "yes" if unity.enabled else "no", unity.reason)
    narrow = choose_narrow_includes(env, target, options.narrow_includes)
    draft.decide("narrow includes", "yes" if narrow.enabled else "no", narrow.reason)
    return pch, unity, narrow


def make_plan(
    env: Environment, options: BuildOptions, *, patch_digests: dict[str, str] | None = None
) -> BuildPlan:
    """The BuildPlan for ``env`` (docs/schemas/plan-1.schema.json); findings say what stops or risks it."""
    draft = _Draft()
    toolchain = host_toolchain(env)
    mmcv = _mmcv_step(draft, env, options)
    request = arch_request(env, options.arch, options.cpu_only)
    target = choose_target(env, options, request)
    draft.findings += target.findings
    toolkit = target.toolkit
    draft.decide("target", target.target, target.reason)
    if target.target == "cuda":
        cuda = _cuda_step(draft, env, options, toolkit, request)
    else:
        cuda = _cpu_step(draft, env)
    cuda_version = toolkit.version if toolkit else None
    compiler = _compiler_step(draft, toolchain.choose_compiler(env, cuda_version, options.cxx))
    _python_flags_step(draft, env, compiler.compiler)
    pch, unity, narrow = _header_steps(draft, env, target.target, compiler, options)
    debug_symbols = _debug_step(draft, env, options)
    jobs = _jobs_step(draft, env, target.target, cuda, cuda_version, options)

    patches = mmcv_patches(env, target.target, mmcv.package)
    patches += _platform_step(draft, toolchain.platform_settings(env, target.target, cuda_version,
                                                                 options.patch_torch), cuda)
    draft.decide("patches", ", ".join(patches), "mmcv's setup.py and sources for this toolchain")
    if target.target == "cuda":
        _cuda_env_step(draft, env, cuda)

    _torchvision_step(draft, env, mmcv)
    draft.findings += _driver_step(env, target.target, cuda_version)
    plan = BuildPlan(
        mmcv=mmcv,
        target=target.target,
        arch_list=[str(s) for s in cuda.arch_list],
        gencode=cuda.gencode,
        threads_per_block=cuda.threads,
        max_jobs=jobs,
        cxx_std=compiler.cxx_std,
        host_compiler=compiler.compiler.path if compiler.compiler else None,
        cuda_home=toolkit.home if toolkit else None,
        patches=patches,
        env=draft.build_env,
        ops=sorted(options.ops),
        pch=pch.enabled,
        narrow_includes=narrow.enabled,
        unity=unity.enabled,
        debug_symbols=debug_symbols,
        provision=toolkit.version if toolkit and not toolkit.provisioned else None,
        provision_from=toolkit.origin if toolkit and not toolkit.provisioned else None,
        decisions=draft.decisions,
        findings=merge_findings(environment_findings(env), draft.findings),
    )
    plan.toolchain = resolve_toolchain(env, draft.build_env, plan.host_compiler,
                                       toolkit if target.target == "cuda" else None, cuda.cuda_args)
    return _with_fingerprint(plan, env, options, toolkit, patch_digests)


def _mmcv_step(draft: _Draft, env: Environment, options: BuildOptions) -> MmcvChoice:
    """The mmcv release, with what its build needs of the environment (build requirements, engine)."""
    mmcv, mmcv_findings = choose_mmcv(env, options.mmcv)
    draft.findings += mmcv_findings + check_build_requires(env, mmcv) + check_engine(env, mmcv)
    draft.decide("mmcv", f"{mmcv.package} {mmcv.version}", mmcv.reason)
    return mmcv


def _compiler_step(draft: _Draft, compiler: CompilerChoice) -> CompilerChoice:
    """The host toolchain's standard and compiler, as the build's CC/CXX and MMBUILD_CXX_STD."""
    draft.findings += compiler.findings
    draft.build_env.update(compiler.env)
    draft.build_env["MMBUILD_CXX_STD"] = compiler.cxx_std
    draft.decide("C++ standard", compiler.cxx_std, compiler.std_reason)
    compiler_label = (
        f"{compiler.compiler.kind} {compiler.compiler.version or '?'} ({compiler.compiler.path})"
        if compiler.compiler
        else "-"
    )
    draft.decide("host compiler", compiler_label, compiler.reason)
    return compiler


def _jobs_step(draft: _Draft, env: Environment, target: str, cuda: _CudaParts, cuda_version: str | None,
               options: BuildOptions) -> int:
    """MAX_JOBS for the memory and cores at hand (or the compiler farm's), and nvcc's --threads within
    each job (CUDA)."""
    jobs = choose_jobs(env, target, max(len(cuda.gencode), 1), options.jobs, options.compiler_cache)
    draft.findings += jobs.findings
    draft.build_env["MAX_JOBS"] = str(jobs.jobs)
    draft.decide("MAX_JOBS", str(jobs.jobs), jobs.reason)
    if target == "cuda":
        nvcc_threads = choose_nvcc_threads(env.cpus or 1, jobs.jobs, len(cuda.gencode), cuda_version,
                                           cuda.user_args)
        if nvcc_threads.threads:
            cuda.cuda_args += ["--threads", str(nvcc_threads.threads)]
            draft.decide("nvcc --threads", str(nvcc_threads.threads), nvcc_threads.reason)
    return jobs.jobs


def _platform_step(draft: _Draft, settings: PlatformSettings, cuda: _CudaParts) -> list[str]:
    """What the host toolchain adds to the build (MSVC's settings); the torch-header patches it needs."""
    draft.build_env.update(settings.build_env)
    cuda.cuda_args += settings.cuda_args
    draft.decisions += settings.decisions
    draft.findings += settings.findings
    return settings.patches


def _cuda_env_step(draft: _Draft, env: Environment, cuda: _CudaParts) -> None:
    """TORCH_CUDA_ARCH_LIST and MMCV_CUDA_ARGS, and the gencode decision after the arch list's."""
    draft.build_env["TORCH_CUDA_ARCH_LIST"] = format_arch_list(cuda.arch_list)
    draft.build_env["MMCV_CUDA_ARGS"] = join_cuda_args(cuda.cuda_args, env.os.system)
    after_arches = 1 + next(i for i, d in enumerate(draft.decisions) if d.name == "arch list")
    gencode = Decision("gencode", " ".join(cuda.gencode) or "-", "what nvcc gets (via MMCV_CUDA_ARGS)")
    draft.decisions.insert(after_arches, gencode)


def _cuda_step(draft: _Draft, env: Environment, options: BuildOptions, toolkit,
               request: ArchRequest) -> _CudaParts:
    """The toolkit, arch list, gencode, THREADS_PER_BLOCK, nvcc's arguments, CUDA_HOME and header paths."""
    draft.decide("CUDA toolkit", _toolkit_label(toolkit), toolkit.home)
    draft.findings += request.findings
    fitted = fit_to_toolkit(request.specs, toolkit)
    draft.findings += fitted.findings
    parts = _CudaParts(fitted.specs, gencode_flags(fitted.specs))
    note = f" ({'; '.join(fitted.notes)})" if fitted.notes else ""
    draft.decide("arch list", format_arch_list(parts.arch_list) or "-", f"from {request.source}{note}")
    threads_choice = choose_threads_per_block(env.gpus, options.threads_per_block)
    draft.findings += threads_choice.findings
    parts.threads = threads_choice.threads
    draft.decide("THREADS_PER_BLOCK", str(parts.threads), threads_choice.reason)
    _, user_other = split_cuda_args(env.env_vars.get("MMCV_CUDA_ARGS"), env.os.system)
    parts.user_args = [t for t in user_other if not t.startswith("-DTHREADS_PER_BLOCK")]
    parts.cuda_args = parts.gencode + [f"-DTHREADS_PER_BLOCK={parts.threads}"] + parts.user_args
    draft.build_env.update({"FORCE_CUDA": "1", "CUDA_HOME": toolkit.home})
    headers = resolve_cuda_headers(env, toolkit)
    draft.findings += headers.findings
    if headers.extra_dirs:
        draft.build_env["CPATH"] = cpath_value(headers.extra_dirs, env.env_vars.get("CPATH"), env.os.system)
        draft.decide("CUDA headers", headers.describe(),
                     "CPATH: library headers torch's CUDA headers include, from the "
                     "NVIDIA wheels torch was installed with (the toolkit lacks them)")
    return parts


def _python_flags_step(draft: _Draft, env: Environment, compiler) -> None:
    python_flags = choose_python_flags(env, compiler)
    draft.findings += python_flags.findings
    draft.build_env.update(python_flags.env)
    if python_flags.stripped:
        draft.decide("CFLAGS, CXXFLAGS", "the Python's without " + " ".join(python_flags.stripped),
                     "the Python's sysconfig CFLAGS carry flags GCC rejects")


def _debug_step(draft: _Draft, env: Environment, options: BuildOptions) -> bool:
    """-g0 last in the build's CFLAGS and CXXFLAGS unless --debug-symbols (after the Python flags step,
    whose flags it builds on); True when the units keep debug info."""
    debug = choose_debug_info(env.os.system, env.python.cflags, env.env_vars, draft.build_env,
                              options.debug_symbols)
    draft.build_env.update(debug.env)
    draft.decide("debug info", "kept (-g)" if debug.keep else ("none (-g0)" if debug.env else "none"),
                 debug.reason)
    return debug.keep


def _torchvision_step(draft: _Draft, env: Environment, mmcv: MmcvChoice) -> None:
    """mmcv-full imports torchvision: it must be there first, and match torch."""
    torchvision = check_torchvision(env, mmcv)
    draft.findings += torchvision.findings
    draft.decisions += torchvision.decisions


def _driver_step(env: Environment, target: str, cuda_version: str | None) -> list[Finding]:
    """The driver against the build's toolkit and torch's runtime; a CPU build does not need the
    driver, so there it is a warning (torch itself cannot use the GPU), never a block."""
    if target == "cuda":
        return driver_findings(env, cuda_version)
    return [dataclasses.replace(f, severity="warning") for f in driver_findings(env, None)]


def _toolkit_label(toolkit: CudaToolkit) -> str:
    if toolkit.origin not in FETCH_SOURCES:
        return f"CUDA {toolkit.version} on this machine"
    return f"CUDA {toolkit.version} from {source_name(toolkit.origin)}" + (
        "" if toolkit.provisioned else " (to fetch)")


def _cpu_step(draft: _Draft, env: Environment) -> _CudaParts:
    draft.build_env["FORCE_CUDA"] = "0"
    if env.torch is not None and env.torch.cuda:
        draft.build_env["CUDA_VISIBLE_DEVICES"] = ""  # mmcv's setup.py builds CUDA whenever torch sees a GPU
    return _CudaParts()


def _with_fingerprint(plan: BuildPlan, env: Environment, options: BuildOptions, toolkit: CudaToolkit | None,
                      patch_digests: dict[str, str] | None) -> BuildPlan:
    inputs = fingerprint_inputs(env, options, plan, toolkit.version if toolkit else None, patch_digests)
    if toolkit is not None and toolkit.origin in FETCH_SOURCES:
        inputs["nvcc_from"] = toolkit.origin
    plan.fingerprint_inputs, plan.fingerprint = inputs, fingerprint(inputs)
    return plan


def fingerprint_inputs(
    env: Environment,
    options: BuildOptions,
    plan: BuildPlan,
    cuda_version: str | None,
    patch_digests: dict[str, str] | None,
) -> dict:
    """Everything that changes the compiled binary, as plain data."""
    digests = patch_digests or {}
    identity = BuildIdentity.for_build(env, plan.target, plan.arch_list)
    return {
        "mmcv": {
            "package": plan.mmcv.package,
            "version": plan.mmcv.version,
            "source_sha256": None,  # plan/fingerprint.py with_source() fills it in
        },
        **identity.fingerprint_inputs(),
        "target": plan.target,
        "nvcc": cuda_version,
        "gencode": plan.gencode,
        "cuda_args": _args_for_fingerprint(plan.toolchain, env.os.system),
        "threads_per_block": plan.threads_per_block,
        "cxx_std": plan.cxx_std,
        "compiler": host_toolchain(env).compiler_id(env, plan.host_compiler),
        "patches": {pid: digests.get(pid) for pid in plan.patches},
        "ops": sorted(plan.ops),
        "pch": plan.pch,
        "debug_symbols": plan.debug_symbols,
        # Absent when off, so that the fingerprints from before it hold.
        **({"narrow_includes": True} if plan.narrow_includes else {}),
        **({"unity": True} if plan.unity else {}),
        # The wheel's name and METADATA carry it (wheels/local_version.py): wheels from before have none.
        "local_version": local_label(plan.target, env.torch.version if env.torch else None,
                                     env.torch.cuda if env.torch else None),
        **toolchain_fingerprint_inputs(plan.toolchain),
    }


def _args_for_fingerprint(toolchain: Toolchain | None, system: str) -> str | None:
    """MMCV_CUDA_ARGS less what does not change the binary (nvcc --threads); None for a CPU build."""
    if toolchain is None or toolchain.nvcc is None:
        return None
    return join_cuda_args(without_nvcc_threads(toolchain.cuda_args), system)

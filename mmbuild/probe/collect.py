"""Run every probe, concurrently where they wait on child processes, into one Environment."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from mmbuild.model.environment import BUILD_ENV_VARS, Environment
from mmbuild.probe import compiler_farm, compilers, cuda, gpus, packages, system, tools, torch_probe
from mmbuild.probe.cuda_headers import locate_headers, wheel_include_dirs
from mmbuild.util.cache_dirs import cache_dir


def build_env_vars(environ: dict[str, str]) -> dict[str, str | None]:
    """The build variables the user already set (None when unset)."""
    return {name: environ.get(name) for name in BUILD_ENV_VARS}


def probe_environment(environ: dict[str, str] | None = None) -> Environment:
    """Everything probe can learn about this machine; failures become findings, not exceptions."""
    environ = dict(os.environ) if environ is None else environ
    toolkit_store = cache_dir("toolkits")
    with ThreadPoolExecutor(max_workers=6) as pool:
        torch_job = pool.submit(torch_probe.probe_torch)
        cuda_job = pool.submit(cuda.probe_cuda_toolkits, environ, store=toolkit_store)
        compilers_job = pool.submit(compilers.probe_compilers, environ)
        ninja_job = pool.submit(tools.probe_ninja, environ)
        gpus_job = pool.submit(gpus.probe_gpus_direct)
        farm_job = pool.submit(compiler_farm.probe_compiler_farm, environ)
        memory, memory_findings = system.probe_memory()
        env = Environment(os=system.os_info(), python=system.python_info(), cpus=system.probe_cpus(),
                          memory=memory, env_vars=build_env_vars(environ), toolkit_store=str(toolkit_store))
        env.packages = packages.installed_versions()
        env.downstream_constraints = packages.downstream_constraints(env.packages)
        torch_report = torch_job.result()
        gpu_report = gpus.merge_torch_gpus(torch_report.gpus, gpus_job.result())
        env.torch = torch_report.torch
        if env.torch is not None and env.torch.cuda:
            env.torch.cuda_library_headers = locate_headers(wheel_include_dirs(env.torch.path))
        env.gpus, env.driver = gpu_report.gpus, gpu_report.driver
        env.cuda_toolkits, cuda_findings = cuda_job.result()
        env.compilers, compiler_findings = compilers_job.result()
        env.ninja = ninja_job.result()
        env.compiler_farm, farm_findings = farm_job.result()
    env.findings = (memory_findings + torch_report.findings + gpu_report.findings + cuda_findings
                    + compiler_findings + farm_findings + packages.mmcv_findings(env.packages))
    return env


def probe_installed_packages() -> Environment:
    """Only the installed packages and the mmcv ranges they declare (for verify: no toolchain probes)."""
    env = Environment(os=system.os_info(), python=system.python_info())
    env.packages = packages.installed_versions()
    env.downstream_constraints = packages.downstream_constraints(env.packages)
    return env

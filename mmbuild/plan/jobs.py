"""MAX_JOBS: ``--jobs`` > the user's MAX_JOBS > as many jobs as both CPUs and memory allow.

ninja alone runs CPUs+2 jobs and knows nothing about memory; a compiler killed for memory shows up
as "Killed" / "signal 9" deep in the log. The estimate per job is in build_resources.toml.

With sccache as the compiler cache and a farm it reaches (``Environment.compiler_farm``), the units
compile on the farm's servers and this machine only preprocesses them: as many jobs as the farm has
CPUs, bounded by the memory preprocessing needs here, by what the local CPUs can feed and by a cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge import build_resources
from mmbuild.model.environment import CompilerFarm, Environment
from mmbuild.model.findings import Finding, finding


@dataclass
class JobsChoice:
    jobs: int
    reason: str
    findings: list[Finding] = field(default_factory=list)


def memory_job_limit(env: Environment, target: str, n_arches: int) -> tuple[int | None, int]:
    """(jobs memory allows or None when memory is unknown, MiB per job)."""
    per_job = build_resources.job_memory_mib(target, env.torch.version if env.torch else None, n_arches)
    available = env.memory.available_mib or env.memory.total_mib
    if not available:
        return None, per_job
    usable = available * (1 - build_resources.memory_reserve_fraction())
    return max(1, int(usable // per_job)), per_job


def choose_jobs(env: Environment, target: str, n_arches: int, requested: int | None,
                compiler_cache: str | None = None) -> JobsChoice:
    """MAX_JOBS and why; ``compiler_cache`` "sccache" sends the units to ``env.compiler_farm`` if any."""
    cpus = max(env.cpus or 1, 1)
    mem_limit, per_job = memory_job_limit(env, target, n_arches)
    free = env.memory.available_mib or env.memory.total_mib
    user = env.env_vars.get("MAX_JOBS")
    findings: list[Finding] = []
    for source, value in (("--jobs", requested), ("MAX_JOBS", user)):
        if value is None or value == "":
            continue
        text = str(value).strip()
        if not text.isdigit() or int(text) < 1:
            findings.append(
                finding("compiler-oom", "warning", message_key="max_jobs_not_a_number", value=repr(value))
            )
            continue
        jobs = int(text)
        if mem_limit is not None and jobs > mem_limit:
            findings.append(
                finding("compiler-oom", "warning", message_key="too_many_jobs", source=source, jobs=jobs,
                        free=free, limit=mem_limit, per_job=per_job)
            )
        return JobsChoice(jobs, f"{source}={jobs}", findings)
    if compiler_cache == "sccache" and env.compiler_farm is not None:
        return JobsChoice(*farm_jobs(env, env.compiler_farm), findings)
    if mem_limit is None:
        return JobsChoice(cpus, f"{cpus} CPUs (memory unknown)", findings)
    jobs = min(cpus, mem_limit)
    if mem_limit < cpus:
        kind = _job_kind(target, n_arches)
        reason = f"{free} MiB available / ~{per_job} MiB per {kind} (fewer than {cpus} CPUs)"
    else:
        reason = f"{cpus} CPUs (memory allows {mem_limit} jobs of ~{per_job} MiB)"
    return JobsChoice(jobs, reason, findings)


def farm_jobs(env: Environment, farm: CompilerFarm) -> tuple[int, str]:
    """(jobs, reason) for units compiled on ``farm`` and preprocessed on this machine."""
    per_job, per_cpu, cap = build_resources.farm_job_limits()
    cpus = max(env.cpus or 1, 1)
    available = env.memory.available_mib or env.memory.total_mib
    usable = available * (1 - build_resources.memory_reserve_fraction()) if available else None
    bounds = [(farm.cpus, "")]
    if usable is not None:
        bounds.append((max(1, int(usable // per_job)),
                       f"{available} MiB here / ~{per_job} MiB per preprocessing job"))
    bounds += [(cpus * per_cpu, f"{per_cpu} jobs per local CPU"), (cap, f"at most {cap} jobs")]
    jobs, limit = min(bounds, key=lambda bound: bound[0])
    servers = f"{farm.servers} server{'s' if farm.servers != 1 else ''}"
    reason = f"compiler farm {farm.scheduler}: {servers}, {farm.cpus} CPUs"
    return jobs, f"{reason} (bounded by {limit})" if limit else reason


def _job_kind(target: str, n_arches: int) -> str:
    return f"nvcc job for {n_arches} arch{'es' if n_arches != 1 else ''}" if target == "cuda" else "C++ job"

"""Lookups over build_resources.toml: memory per compile job and the THREADS_PER_BLOCK budget."""

from __future__ import annotations

from mmbuild.knowledge import load_table
from mmbuild.knowledge.versions import parse_version


def job_memory_mib(target: str, torch_version: str | None, n_arches: int) -> int:
    """Estimated peak MiB of one compile job: nvcc jobs grow with the number of -gencode targets."""
    table = load_table("build_resources")["job_memory_mib"]
    if target == "cuda":
        return table["nvcc_base"] + table["nvcc_per_arch"] * max(n_arches - 1, 0)
    torch = parse_version(torch_version)
    return table["cxx_torch1"] if torch is not None and torch.major < 2 else table["cxx_torch2"]


def memory_reserve_fraction() -> float:
    return float(load_table("build_resources")["job_memory_mib"]["reserve_fraction"])


def farm_job_limits() -> tuple[int, int, int]:
    """(MiB per preprocessing job, jobs per local CPU, most jobs) for a build on a compiler farm."""
    table = load_table("build_resources")["farm_jobs"]
    return int(table["preprocess_mib"]), int(table["per_local_cpu"]), int(table["max_jobs"])


def default_threads_per_block() -> int:
    return int(load_table("build_resources")["threads_per_block"]["default"])


def registers_per_thread_budget() -> int:
    return int(load_table("build_resources")["threads_per_block"]["registers_per_thread"])

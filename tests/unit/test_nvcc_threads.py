"""nvcc --threads: only with CPUs the jobs leave idle, only for several targets, never twice."""

from __future__ import annotations

from mmbuild.plan.nvcc_threads import choose_nvcc_threads, without_nvcc_threads


def test_threads_fill_the_cpus_the_jobs_leave_idle_up_to_one_per_target():
    assert choose_nvcc_threads(16, 4, 5, "13.0", []).threads == 4
    assert choose_nvcc_threads(16, 2, 3, "12.8", []).threads == 3
    assert choose_nvcc_threads(2, 1, 5, "13.0", []).threads == 2


def test_no_threads_where_they_cannot_help_or_nvcc_lacks_them():
    assert choose_nvcc_threads(2, 2, 5, "13.0", []).threads is None      # jobs use every CPU
    assert choose_nvcc_threads(16, 2, 1, "13.0", []).threads is None     # one target
    old = choose_nvcc_threads(16, 2, 4, "11.1", [])
    assert old.threads is None and "11.2" in old.reason
    assert choose_nvcc_threads(16, 2, 4, "13.0", ["-t", "8"]).threads is None


def test_the_fingerprint_ignores_the_thread_count_in_every_spelling():
    tokens = ["-gencode=arch=compute_90,code=sm_90", "--threads", "4", "-t=2", "--threads=3", "-lineinfo"]
    assert without_nvcc_threads(tokens) == ["-gencode=arch=compute_90,code=sm_90", "-lineinfo"]

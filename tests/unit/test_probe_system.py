"""System probe: cgroup v1/v2 limits, meminfo, CPUs, on captured files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mmbuild.probe import system

FIXTURES = Path(__file__).parent.parent / "fixtures" / "probe"
V1 = FIXTURES / "cgroup_v1"
V2 = FIXTURES / "cgroup_v2"


def test_parse_mountinfo_finds_v1_controllers_and_the_unified_v2_mount():
    mounts = system.parse_mountinfo((V1 / "mountinfo").read_text())
    by_point = {m.mount_point: m for m in mounts}
    assert by_point["/sys/fs/cgroup/memory"].version == 1
    assert "memory" in by_point["/sys/fs/cgroup/memory"].controllers
    assert by_point["/sys/fs/cgroup/unified"].version == 2
    assert "/sys/fs/cgroup" not in by_point  # the tmpfs holding them is not a cgroup mount


def test_parse_proc_cgroup_maps_controllers_to_paths():
    paths = system.parse_proc_cgroup((V1 / "cgroup").read_text())
    assert paths["memory"].startswith("/process_api/")
    assert paths["cpu"] == "/"
    assert paths[""] == "/"


def test_cgroup_dirs_walk_from_the_leaf_to_the_mount():
    mounts = system.parse_mountinfo((V1 / "mountinfo").read_text())
    paths = system.parse_proc_cgroup((V1 / "cgroup").read_text())
    dirs = system.cgroup_dirs(mounts, paths, "memory")
    assert dirs[0] == Path("/sys/fs/cgroup/memory") / paths["memory"].lstrip("/")
    assert dirs[-1] == Path("/sys/fs/cgroup/memory")
    assert len(dirs) == 3


def test_this_machine_v1_files_mean_no_cpu_and_no_memory_limit():
    view = system.CgroupView(proc_self=V1, prefix=V1)
    assert system.cpu_quota(view) is None
    assert system.memory_limit(view) == (None, None)


@pytest.mark.parametrize(("name", "cpus"), [("cpu.max-podman-cpus-0.42", 0.42), ("cpu.max-unlimited", None)])
def test_parse_cpu_max(name, cpus):
    assert system.parse_cpu_max((V2 / name).read_text()) == cpus


def test_parse_cfs_quota_of_this_machine_is_unlimited():
    cpu = V1 / "sys/fs/cgroup/cpu"
    assert system.parse_cfs_quota((cpu / "cpu.cfs_quota_us").read_text(),
                                  (cpu / "cpu.cfs_period_us").read_text()) is None
    assert system.parse_cfs_quota("150000\n", "100000\n") == 1.5


def test_parse_memory_limit_v1_unlimited_v2_real_limit():
    v1 = next(V1.rglob("memory.limit_in_bytes")).read_text()
    assert system.parse_memory_limit(v1) is None
    assert system.parse_memory_limit((V2 / "memory.max-podman-42m").read_text()) == 42 * 1024 * 1024
    assert system.parse_memory_limit("max\n") is None


def _v2_tree(tmp_path: Path, cpu_max: str, memory_max: str, current: str) -> system.CgroupView:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mountinfo").write_text("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n")
    (proc / "cgroup").write_text("0::/\n")
    cg = tmp_path / "sys/fs/cgroup"
    cg.mkdir(parents=True)
    (cg / "cpu.max").write_text(cpu_max)
    (cg / "memory.max").write_text(memory_max)
    (cg / "memory.current").write_text(current)
    return system.CgroupView(proc_self=proc, prefix=tmp_path)


def test_v2_limits_cap_cpus_and_memory(tmp_path):
    view = _v2_tree(tmp_path, (V2 / "cpu.max-podman-cpus-0.42").read_text(),
                    (V2 / "memory.max-podman-42m").read_text(), "11534336\n")
    assert system.cpu_quota(view) == 0.42
    assert system.effective_cpus(16, system.cpu_quota(view)) == 1
    limit, usage = system.memory_limit(view)
    meminfo = system.parse_meminfo((FIXTURES / "proc/meminfo").read_text())
    memory = system.effective_memory(meminfo, limit, usage)
    assert (memory.total_mib, memory.available_mib) == (42, 31)


def test_meminfo_of_this_machine():
    meminfo = system.parse_meminfo((FIXTURES / "proc/meminfo").read_text())
    memory = system.effective_memory(meminfo, None, None)
    assert memory.total_mib == meminfo["MemTotal"] // 1024
    assert memory.available_mib == meminfo["MemAvailable"] // 1024
    assert 20_000 < memory.total_mib < 30_000


def test_effective_cpus_rounds_quota_up_and_never_exceeds_affinity():
    assert system.effective_cpus(8, 2.5) == 3
    assert system.effective_cpus(2, 4.0) == 2
    assert system.effective_cpus(4, None) == 4


def test_missing_meminfo_is_a_finding_not_an_exception(tmp_path):
    memory, findings = system.probe_memory(tmp_path / "nope", system.CgroupView(proc_self=tmp_path))
    assert memory.total_mib is None
    assert [f.id for f in findings] == ["probe-incomplete"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_meminfo_is_a_finding(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text((FIXTURES / "proc/meminfo").read_text())
    path.chmod(0)
    memory, findings = system.probe_memory(path, system.CgroupView(proc_self=tmp_path))
    assert memory.total_mib is None and findings


def test_a_directory_where_meminfo_should_be_is_a_finding(tmp_path):
    # Works as root too: reading a directory fails with IsADirectoryError.
    (tmp_path / "meminfo").mkdir()
    memory, findings = system.probe_memory(tmp_path / "meminfo", system.CgroupView(proc_self=tmp_path))
    assert memory.total_mib is None and findings[0].id == "probe-incomplete"
    assert not stat.S_ISREG((tmp_path / "meminfo").stat().st_mode)


def test_probe_cpus_on_this_process_is_within_affinity():
    assert 1 <= system.probe_cpus() <= len(os.sched_getaffinity(0))

"""OS, Python, and the CPUs and memory this process may really use.

Detection order:

* OS: ``platform`` for system/release/machine, the ``distro`` package for the Linux
  distribution.
* CPUs: ``os.sched_getaffinity`` (``os.cpu_count`` where it does not exist), then
  lowered by the CPU quota of the process's cgroup: v2 ``cpu.max``, else v1
  ``cpu.cfs_quota_us``/``cpu.cfs_period_us``, the tightest of the cgroup and its
  parents. Containers and Slurm jobs see every host CPU in ``os.cpu_count``.
* Memory: ``/proc/meminfo`` (MemTotal, MemAvailable), then capped by the cgroup's
  limit (v2 ``memory.max`` minus ``memory.current``, v1 ``memory.limit_in_bytes``
  minus ``memory.usage_in_bytes``).

The cgroup directory is found from ``/proc/self/cgroup`` and the cgroup mounts in
``/proc/self/mountinfo``.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mmbuild.model.environment import MemoryInfo, OSInfo, PythonInfo
from mmbuild.model.findings import Finding, finding
from mmbuild.probe.files import read_text

# cgroup v1 reports "no limit" as a huge page-aligned number (e.g. 9223372036854771712).
_UNLIMITED_BYTES = 1 << 60


@dataclass(frozen=True)
class CgroupMount:
    root: str
    mount_point: str
    version: int
    controllers: frozenset[str]


def parse_mountinfo(text: str) -> list[CgroupMount]:
    """The cgroup mounts listed in a ``/proc/<pid>/mountinfo``."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        fstype = tail[0]
        if fstype == "cgroup2":
            mounts.append(CgroupMount(fields[3], fields[4], 2, frozenset()))
        elif fstype == "cgroup":
            options = frozenset(tail[2].split(","))
            mounts.append(CgroupMount(fields[3], fields[4], 1, options))
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Map each controller of ``/proc/<pid>/cgroup`` to its cgroup path; ``""`` is the v2 hierarchy."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def cgroup_dirs(mounts: list[CgroupMount], paths: dict[str, str], controller: str) -> list[Path]:
    """The directories holding ``controller``'s files for this process, leaf first, up to the mount.

    ``controller`` is a v1 name ("cpu", "memory"); the v2 hierarchy is used when
    no v1 mount carries that controller.
    """
    for mount in mounts:
        if mount.version == 1 and controller in mount.controllers and controller in paths:
            return _walk_up(mount, paths[controller])
    for mount in mounts:
        if mount.version == 2 and "" in paths:
            return _walk_up(mount, paths[""])
    return []


def _walk_up(mount: CgroupMount, path: str) -> list[Path]:
    cg = PurePosixPath(path)
    root = PurePosixPath(mount.root)
    try:
        relative = cg.relative_to(root)
    except ValueError:  # the process's cgroup is outside this mount's view (container)
        relative = PurePosixPath(".")
    dirs = []
    current = Path(mount.mount_point) / relative
    base = Path(mount.mount_point)
    while True:
        dirs.append(current)
        if current == base or base not in current.parents:
            return dirs
        current = current.parent


def parse_cpu_max(text: str) -> float | None:
    """cgroup v2 ``cpu.max`` ("$QUOTA $PERIOD", quota "max" = unlimited) -> CPUs, or None."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def parse_cfs_quota(quota_text: str, period_text: str) -> float | None:
    """cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` -> CPUs, or None (-1 = unlimited)."""
    try:
        quota, period = int(quota_text.strip()), int(period_text.strip())
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def parse_memory_limit(text: str) -> int | None:
    """A cgroup memory limit in bytes (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), or None."""
    text = text.strip()
    if text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < _UNLIMITED_BYTES else None


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` -> {field: kibibytes}."""
    values = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and parts and parts[0].isdigit():
            values[name.strip()] = int(parts[0])
    return values


def effective_cpus(affinity: int, quota: float | None) -> int:
    """CPUs usable: the affinity mask, lowered to the cgroup quota rounded up."""
    if quota is None:
        return max(1, affinity)
    return max(1, min(affinity, math.ceil(quota)))


def effective_memory(meminfo: dict[str, int], limit: int | None, usage: int | None) -> MemoryInfo:
    """Total and available MiB: the host's figures capped by the cgroup limit."""
    total = meminfo.get("MemTotal")
    available = meminfo.get("MemAvailable", meminfo.get("MemFree"))
    total_mib = total // 1024 if total is not None else None
    available_mib = available // 1024 if available is not None else None
    if limit is not None:
        limit_mib = limit // (1024 * 1024)
        total_mib = limit_mib if total_mib is None else min(total_mib, limit_mib)
        if usage is not None:
            room = max(0, (limit - usage) // (1024 * 1024))
            available_mib = room if available_mib is None else min(available_mib, room)
    return MemoryInfo(total_mib, available_mib)


# ---------------------------------------------------------------- readers


def os_info() -> OSInfo:
    info = OSInfo(platform.system(), platform.release(), platform.machine())
    if info.system == "Linux":
        try:
            import distro

            info.distro = distro.id() or None
            info.distro_version = distro.version() or None
        except Exception:  # noqa: BLE001 - a missing or broken distro only loses two fields
            pass
    elif info.system == "Windows":
        info.long_paths = windows_long_paths_enabled()
    return info


def windows_long_paths_enabled() -> bool | None:
    """HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem LongPathsEnabled; None if unreadable."""
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            value, _ = winreg.QueryValueEx(key, "LongPathsEnabled")
    except (ImportError, OSError):
        return None
    return bool(value)


def python_info() -> PythonInfo:
    return PythonInfo(platform.python_version(), sys.executable, sysconfig.get_config_var("CFLAGS"))


@dataclass
class CgroupView:
    """Where this process's cgroup files are; tests point it at a captured tree."""

    proc_self: Path = Path("/proc/self")
    prefix: Path | None = None  # prepended to the mount points (a captured /sys tree)

    def dirs(self, controller: str) -> list[Path]:
        mountinfo = read_text(self.proc_self / "mountinfo")
        cgroup = read_text(self.proc_self / "cgroup")
        if mountinfo is None or cgroup is None:
            return []
        found = cgroup_dirs(parse_mountinfo(mountinfo), parse_proc_cgroup(cgroup), controller)
        if self.prefix is None:
            return found
        return [self.prefix / str(d).lstrip("/") for d in found]


def cpu_quota(view: CgroupView) -> float | None:
    """The tightest CPU quota over the process's cgroup and its parents."""
    quotas = []
    for d in view.dirs("cpu"):
        v2 = read_text(d / "cpu.max")
        if v2 is not None:
            quotas.append(parse_cpu_max(v2))
            continue
        quota, period = read_text(d / "cpu.cfs_quota_us"), read_text(d / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            quotas.append(parse_cfs_quota(quota, period))
    limits = [q for q in quotas if q is not None]
    return min(limits) if limits else None


def memory_limit(view: CgroupView) -> tuple[int | None, int | None]:
    """(limit, usage) in bytes of the tightest memory limit over the cgroup and its parents."""
    best: tuple[int | None, int | None] = (None, None)
    for d in view.dirs("memory"):
        for limit_name, usage_name in (("memory.max", "memory.current"),
                                       ("memory.limit_in_bytes", "memory.usage_in_bytes")):
            text = read_text(d / limit_name)
            if text is None:
                continue
            limit = parse_memory_limit(text)
            if limit is not None and (best[0] is None or limit < best[0]):
                usage_text = read_text(d / usage_name)
                usage = int(usage_text) if usage_text and usage_text.strip().isdigit() else None
                best = (limit, usage)
            break
    return best


def affinity_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def probe_cpus(view: CgroupView | None = None) -> int:
    return effective_cpus(affinity_cpus(), cpu_quota(view or CgroupView()))


def probe_memory(meminfo_path: str | Path = "/proc/meminfo",
                 view: CgroupView | None = None) -> tuple[MemoryInfo, list[Finding]]:
    """Memory for this process; an unreadable meminfo degrades to the cgroup limit alone."""
    findings: list[Finding] = []
    text = read_text(meminfo_path)
    if text is None:
        meminfo: dict[str, int] = {}
        if sys.platform.startswith("linux"):
            findings.append(finding("probe-incomplete", message_key="meminfo", path=meminfo_path))
    else:
        meminfo = parse_meminfo(text)
    limit, usage = memory_limit(view or CgroupView())
    return effective_memory(meminfo, limit, usage), findings

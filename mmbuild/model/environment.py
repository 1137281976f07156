"""The Environment: everything probe learned about a machine, as plain data.

It round-trips through JSON (docs/schemas/env-1.schema.json), so a report saved on one
node can stand in for that node: ``mmbuild plan --from-env node.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.model.findings import Finding
from mmbuild.model.serde import from_dict, to_dict

SCHEMA = 1

# Every distribution that installs the `mmcv` import package (onedl-mmcv: the maintained fork).
MMCV_DISTRIBUTIONS = ("mmcv", "mmcv-full", "mmcv-lite", "onedl-mmcv")
# The distributions that install ``mmcv`` with its compiled ops (mmcv-lite never has them).
MMCV_WITH_OPS = tuple(name for name in MMCV_DISTRIBUTIONS if name != "mmcv-lite")
DOWNSTREAM_PACKAGES = (
    "mmengine", "mmdet", "mmsegmentation", "mmaction2", "mmpretrain", "mmcls",
    "onedl-mmengine", "onedl-mmdetection", "onedl-mmsegmentation", "onedl-mmpretrain",
)
TRACKED_PACKAGES = MMCV_DISTRIBUTIONS + DOWNSTREAM_PACKAGES + (
    "torchvision", "setuptools", "packaging", "ninja",
)
BUILD_ENV_VARS = ("TORCH_CUDA_ARCH_LIST", "MAX_JOBS", "MMCV_CUDA_ARGS", "CUDA_HOME", "CC", "CXX", "CPATH",
                  "CFLAGS", "CXXFLAGS", "PYTORCH_NVCC")


@dataclass
class OSInfo:
    system: str
    release: str
    machine: str
    distro: str | None = None
    distro_version: str | None = None
    long_paths: bool | None = None   # Windows: LongPathsEnabled in the registry


@dataclass
class PythonInfo:
    version: str
    executable: str
    cflags: str | None = None    # sysconfig CFLAGS: setuptools compiles every extension unit with them


@dataclass
class TorchInfo:
    """The installed torch as its own import reports it (read in a child process)."""

    version: str
    cuda: str | None
    cxx11_abi: bool | None
    arch_list: list[str] = field(default_factory=list)
    path: str | None = None
    cuda_available: bool = False
    thc_headers: bool | None = None
    # CUDA headers torch's CUDA headers need, found in the NVIDIA wheels beside torch: name -> include dir.
    cuda_library_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class CudaToolkit:
    home: str
    nvcc: str
    version: str | None
    arches: list[str] = field(default_factory=list)
    # CUDA headers torch's CUDA headers need, found in this toolkit: name -> include dir
    # (None: not looked at, as in reports saved before mmbuild looked).
    library_headers: dict[str, str] | None = None
    # "system" | "index" | "redist" (provisioned by mmbuild from the package index or NVIDIA's archives)
    origin: str = "system"
    provisioned: bool = True         # False: a toolkit to fetch that a plan names before it is fetched
    # Where the probe found it (mmbuild/probe/cuda_places.py's labels: "CUDA_HOME", "PATH",
    # "distro", "conda", "pip", "store", ...), every place that led to it, first first.
    found_by: list[str] = field(default_factory=list)


@dataclass
class DriverInfo:
    version: str


@dataclass
class GPU:
    index: int
    name: str
    capability: str | None
    memory_mib: int | None = None
    max_threads_per_block: int | None = None
    regs_per_block: int | None = None
    multiprocessors: int | None = None


@dataclass
class Compiler:
    kind: str
    version: str | None
    path: str


@dataclass
class MSVC:
    version: str | None
    msc_ver: int | None
    vs_version: str | None
    path: str | None


@dataclass
class Compilers:
    cxx: Compiler | None = None
    candidates: list[Compiler] = field(default_factory=list)
    msvc: MSVC | None = None


@dataclass
class NinjaInfo:
    version: str


@dataclass
class MemoryInfo:
    total_mib: int | None
    available_mib: int | None


@dataclass
class DownstreamConstraint:
    """An mmcv version range that an installed downstream package declares."""

    package: str
    version: str
    mmcv_min: str | None
    mmcv_max: str | None


@dataclass
class CompilerFarm:
    """The sccache-dist farm this machine's sccache reaches (``sccache --dist-status``)."""

    scheduler: str        # the scheduler's URL
    servers: int          # build servers registered with it
    cpus: int             # their CPUs, all together


@dataclass
class Environment:
    os: OSInfo
    python: PythonInfo
    torch: TorchInfo | None = None
    cuda_toolkits: list[CudaToolkit] = field(default_factory=list)
    driver: DriverInfo | None = None
    gpus: list[GPU] = field(default_factory=list)
    compilers: Compilers = field(default_factory=Compilers)
    ninja: NinjaInfo | None = None
    cpus: int = 1
    memory: MemoryInfo = field(default_factory=lambda: MemoryInfo(None, None))
    packages: dict[str, str | None] = field(default_factory=dict)
    downstream_constraints: list[DownstreamConstraint] = field(default_factory=list)
    env_vars: dict[str, str | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    toolkit_store: str | None = None   # where mmbuild keeps CUDA toolkits from the package index
    # sccache's distributed build farm, when sccache is configured for one and it answers.
    compiler_farm: CompilerFarm | None = None
    schema: int = SCHEMA

    def to_dict(self) -> dict:
        data = to_dict(self)
        data.pop("schema")
        return {"schema": self.schema, **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> Environment:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise UsageError(
                f"not an mmbuild environment report (schema {SCHEMA} expected)",
                fix="save one with 'mmbuild env --json > node.json'",
            )
        try:
            return from_dict(cls, data)
        except (TypeError, KeyError, ValueError) as exc:
            raise UsageError(f"environment report is malformed: {exc}") from exc


def load_environment(path: str | Path) -> Environment:
    """Read a saved ``mmbuild env --json`` report."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read environment report {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    return Environment.from_dict(data)

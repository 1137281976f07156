"""The BuildPlan: every decision the build needs, as plain data (docs/schemas/plan-1.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.model.environment import CudaToolkit
from mmbuild.model.findings import Finding, has_errors
from mmbuild.model.serde import from_dict, to_dict


@dataclass
class MmcvChoice:
    package: str          # "mmcv", "mmcv-full" or "onedl-mmcv"
    version: str
    reason: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass
class Decision:
    """One row of the human plan table: what was decided and why."""

    name: str
    value: str
    reason: str


@dataclass
class Toolchain:
    """The compilers the build runs, resolved once by the plan (plan/build_toolchain.py) and used as they
    are by the preflight, the build and the fingerprint."""

    cxx: str                                      # the C++ compiler command
    cxx_from: str                                 # --cxx/chosen | CXX | default
    nvcc: str | None = None                       # the nvcc command torch runs; None for a CPU build
    nvcc_from: str | None = None                  # PYTORCH_NVCC | toolkit
    toolkit: CudaToolkit | None = None            # the build toolkit as probed (or to be fetched)
    cuda_args: list[str] = field(default_factory=list)   # MMCV_CUDA_ARGS, one nvcc argument per item


@dataclass
class BuildPlan:
    mmcv: MmcvChoice
    target: str                                   # "cuda" | "cpu"
    arch_list: list[str] = field(default_factory=list)
    gencode: list[str] = field(default_factory=list)
    threads_per_block: int | None = None
    max_jobs: int = 1
    cxx_std: str = "c++17"
    host_compiler: str | None = None
    cuda_home: str | None = None
    patches: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    ops: list[str] = field(default_factory=list)
    pch: bool = False                             # precompiled torch headers for the C++ units
    narrow_includes: bool = False                 # .cu units include only the torch headers they use
    unity: bool = False                           # C++ units compiled in groups (build/unity.py)
    debug_symbols: bool = False                   # True: the C++ units keep -g (plan/debug_info.py)
    provision: str | None = None                  # CUDA version to fetch before building
    provision_from: str | None = None             # where from: "index" | "redist"
    toolchain: Toolchain | None = None
    fingerprint: str = ""
    decisions: list[Decision] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # What the fingerprint is the sha256 of (plan/fingerprint.py); not part of the JSON.
    fingerprint_inputs: dict = field(default_factory=dict, metadata={"json": False}, repr=False)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    def to_dict(self) -> dict:
        data = to_dict(self)
        data["ok"] = self.ok
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BuildPlan:
        data = {k: v for k, v in data.items() if k != "ok"}
        return from_dict(cls, data)

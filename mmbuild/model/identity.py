"""BuildIdentity: what a binary is built for, the facts that decide whether a wheel loads on a node.

One type for the three places that spell them: the fingerprint (plan/make.py), the wheel's build
metadata (wheels/metadata.py) and the wheel-fits-node check (wheels/fit.py), which reads it back from
that metadata. Python is kept as probed (``3.11.7``) and compared as major.minor.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from mmbuild.model.environment import Environment


@dataclass(frozen=True)
class BuildIdentity:
    system: str | None
    machine: str | None
    python: str | None
    torch: str | None                    # the version torch reports: 2.13.0+cu130
    torch_cuda: str | None               # torch.version.cuda; None for a CPU torch
    cxx11_abi: bool | None
    target: str | None = None            # cuda | cpu
    arch_list: tuple[str, ...] = ()      # TORCH_CUDA_ARCH_LIST entries of a CUDA build

    @classmethod
    def for_build(cls, env: Environment, target: str, arch_list=()) -> BuildIdentity:
        """The identity of a build of ``target`` on ``env`` for ``arch_list``."""
        torch = env.torch
        return cls(env.os.system, env.os.machine, env.python.version, torch.version if torch else None,
                   torch.cuda if torch else None, torch.cxx11_abi if torch else None, target,
                   tuple(arch_list))

    @classmethod
    def from_metadata(cls, meta: dict) -> BuildIdentity:
        """The identity recorded in a wheel's build metadata (or the same keys of a planned build)."""
        platform, torch = meta.get("platform") or {}, meta.get("torch") or {}
        python = meta.get("python")
        return cls(platform.get("system"), platform.get("machine"), str(python) if python else None,
                   torch.get("version"), torch.get("cuda"), torch.get("cxx11_abi"), meta.get("target"),
                   tuple(meta.get("arch_list") or ()))

    @property
    def python_minor(self) -> str | None:
        """``3.11`` of ``3.11.7`` (the part that fixes the extension's ABI)."""
        try:
            version = Version(self.python.split("+", 1)[0]) if self.python else None
        except InvalidVersion:
            version = None
        return f"{version.major}.{version.minor}" if version else self.python

    def torch_record(self) -> dict | None:
        return {"version": self.torch, "cuda": self.torch_cuda, "cxx11_abi": self.cxx11_abi}

    def fingerprint_inputs(self) -> dict:
        """The identity's part of the fingerprint (the target and arches enter it as planned)."""
        return {"torch": self.torch_record() if self.torch else None, "python": self.python_minor,
                "platform": {"system": self.system, "machine": self.machine}}

    def metadata(self) -> dict:
        """The identity's keys of the wheel's build metadata (read back by ``from_metadata``)."""
        return {"target": self.target, "torch": self.torch_record(), "python": self.python,
                "platform": {"system": self.system, "machine": self.machine},
                "arch_list": list(self.arch_list)}

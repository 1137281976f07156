"""Lookups over cuda_wheels.toml: which CUDA compilers the package index carries, and where they go.

The folder names are shared by the plan (which names the toolkit a build will use, before it exists)
and the toolkit store that provisions it (mmbuild/toolkits/), so they are defined here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge import load_table
from mmbuild.knowledge.versions import release


@dataclass(frozen=True)
class CompilerWheels:
    """The wheels that make a CUDA toolkit of one major, or why the index has none."""

    major: int
    requirement: str = ""                # pip requirement, "{version}" is the CUDA major.minor
    packages: list[str] = field(default_factory=list)
    layout: str = ""                     # the folder of the installed wheels that holds bin/nvcc
    missing: str = ""                    # why the index cannot provide this major's compiler
    platforms: list[str] = field(default_factory=list)   # "Linux x86_64": where the layout was checked

    @property
    def available(self) -> bool:
        return bool(self.requirement)

    def serves(self, system: str, machine: str) -> bool:
        """Whether mmbuild provisions this major on ``system`` ``machine`` ("Linux", "x86_64")."""
        return self.available and f"{system} {machine}" in self.platforms

    def requirement_for(self, version: str) -> str:
        return self.requirement.format(version=version)


def compiler_wheels(cuda_version: str | None) -> CompilerWheels | None:
    """The row for ``cuda_version``'s major; None for a major the table does not know."""
    parts = release(cuda_version)
    if not parts:
        return None
    row = next((r for r in load_table("cuda_wheels")["major"] if r["major"] == parts[0]), None)
    if row is None:
        return None
    return CompilerWheels(row["major"], row.get("requirement", ""), list(row.get("packages", [])),
                          row.get("layout", ""), row.get("missing", ""), list(row.get("platforms", [])))


RECORD = "toolkit.json"   # in a toolkit's folder once it is complete: what was installed


def toolkit_folder(store: str, version: str) -> str:
    """The store's folder for CUDA ``version`` (major.minor): the wheels, the home and toolkit.json."""
    return f"{store.rstrip('/')}/cuda-{version}"


def toolkit_home(store: str, version: str) -> str:
    """The CUDA_HOME of a provisioned toolkit (bin/nvcc, include/, lib64/, nvvm/)."""
    return f"{toolkit_folder(store, version)}/home"

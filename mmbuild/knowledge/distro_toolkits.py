"""Lookups over distro_toolkits.toml: the CUDA toolkit a Linux release packages itself."""

from __future__ import annotations

from dataclasses import dataclass

from mmbuild.knowledge import load_table


@dataclass(frozen=True)
class DistroToolkit:
    distro: str            # "debian", as the distro package's id() says
    version: str           # "12"
    cuda: str              # "11.8"
    component: str         # the archive component to enable: "non-free", "multiverse"
    host_compiler: str = ""  # the g++ package to add where the default is too new: "g++-11"

    @property
    def install_command(self) -> str:
        extra = f" {self.host_compiler}" if self.host_compiler else ""
        return f"apt-get install nvidia-cuda-toolkit{extra}"


def distro_toolkit(distro: str | None, version: str | None) -> DistroToolkit | None:
    """The packaged toolkit of this release ("debian", "12"), or None when the table has none."""
    if not distro or not version:
        return None
    major = version.split(".")[0]
    for row in load_table("distro_toolkits")["release"]:
        if row["distro"] == distro.lower() and row["version"] in (version, major):
            return DistroToolkit(row["distro"], row["version"], row["cuda"], row["component"],
                                 row.get("host_compiler", ""))
    return None

"""Several toolkits on one machine: the plan takes torch's major and says why; where none fits, the
fix names the operating system's own CUDA package when its major is torch's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mmbuild.knowledge.distro_toolkits import distro_toolkit
from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
# Real capture: Debian 12 with its nvidia-cuda-toolkit 11.8 at /usr beside /usr/local/cuda-13.0,
# torch 2.0.1+cu117, g++-12 and g++-11, no CUDA_HOME.
DEBIAN_11_8 = "this-machine-debian-cuda-11.8-and-13.0-torch-2.0.1-cu117"
CU128 = "this-machine-cuda-torch-2.8-cu128-nvcc-13.0"   # real capture: torch cu128, only 13.0 here


def _env(name: str, **os_fields):
    env = load_environment(ENVS / f"{name}.json")
    env.toolkit_store = "/cache/mmbuild/toolkits"
    env.os = dataclasses.replace(env.os, **os_fields)
    return env


def _error(plan):
    [error] = [f for f in plan.findings if f.severity == "error"]
    return error


def test_debians_toolkit_is_found_without_cuda_home_and_chosen_over_13_0_with_why():
    plan = make_plan(_env(DEBIAN_11_8), BuildOptions(arch="8.6"))
    assert plan.ok and plan.target == "cuda" and plan.cuda_home == "/usr"
    target = next(d for d in plan.decisions if d.name == "target").reason
    assert "matches torch's CUDA 11.7, found by PATH and distro" in target
    assert "passed over: CUDA 13.0 at /usr/local/cuda-13.0 is not torch's CUDA 11.7" in target
    assert plan.env["CXX"] == "/usr/bin/g++-11" and plan.cxx_std == "c++14"


def test_of_two_toolkits_of_torchs_major_its_minor_comes_first_and_the_other_is_named():
    env = _env(CU128)
    [cuda13] = env.cuda_toolkits
    env.cuda_toolkits = [
        dataclasses.replace(cuda13, home="/opt/cuda-12.4", version="12.4", found_by=["CUDA_ROOT"]),
        dataclasses.replace(cuda13, home="/usr/local/cuda-12.8", version="12.8", found_by=["/usr/local"]),
        cuda13]
    plan = make_plan(env, BuildOptions(arch="9.0", cuda_toolkit="system"))
    assert plan.ok and plan.cuda_home == "/usr/local/cuda-12.8"
    target = next(d for d in plan.decisions if d.name == "target").reason
    assert "CUDA 12.4 at /opt/cuda-12.4: the same minor as torch's comes first" in target
    assert "CUDA 13.0 at /usr/local/cuda-13.0 is not torch's CUDA 12.8" in target


def test_without_debians_toolkit_the_fix_names_its_package_for_a_cuda_11_torch():
    env = _env(DEBIAN_11_8)
    env.cuda_toolkits = [t for t in env.cuda_toolkits if t.home != "/usr"]
    error = _error(make_plan(env, BuildOptions(arch="8.6", cuda_toolkit="system")))
    assert error.id == "cuda-version-mismatch"
    assert ("or install Debian 12's own CUDA 11.8: apt-get install nvidia-cuda-toolkit g++-11, with the "
            "non-free component enabled") in error.fix
    assert "--cuda-toolkit redist" in error.fix and "--cpu-only" in error.fix
    fetched = make_plan(env, BuildOptions(arch="8.6"))      # auto: NVIDIA's archives instead
    assert fetched.ok and fetched.provision_from == "redist" and fetched.provision.startswith("11.")


def test_the_os_package_is_named_only_where_its_major_is_torchs():
    system = BuildOptions(arch="9.0", cuda_toolkit="system")
    assert "apt-get" not in _error(make_plan(_env(CU128), system)).fix     # Debian 12: 11.8
    trixie = _error(make_plan(_env(CU128, distro_version="13"), system)).fix
    assert "or install Debian 13's own CUDA 12.4: apt-get install nvidia-cuda-toolkit, with the non-free" in (
        trixie)
    ubuntu = _env(CU128, distro="ubuntu", distro_version="24.04")
    noble = _error(make_plan(ubuntu, system)).fix
    assert "Ubuntu 24.04's own CUDA 12.0: apt-get install nvidia-cuda-toolkit, with the multiverse" in noble
    assert "apt-get" not in _error(make_plan(_env(CU128, distro="fedora", distro_version="41"), system)).fix


def test_the_table_of_packaged_toolkits():
    assert distro_toolkit("debian", "12").cuda == "11.8"
    assert distro_toolkit("Debian", "12.5").cuda == "11.8"     # a point release: the major's row
    assert distro_toolkit("ubuntu", "24.04").cuda == "12.0" and distro_toolkit("ubuntu", "24.10") is None
    assert distro_toolkit(None, "12") is None and distro_toolkit("arch", None) is None

"""--cuda-toolkit auto|system|index|redist|DIR: the toolkit a plan takes, this machine's or a fetched one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mmbuild.knowledge.cuda_wheels import compiler_wheels, toolkit_home
from mmbuild.model.environment import Compiler, CudaToolkit, load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.toolkit import index_version

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
STORE = "/cache/mmbuild/toolkits"


def _env(name: str, store: str | None = STORE):
    env = load_environment(ENVS / f"{name}.json")
    env.toolkit_store = store
    return env


def _machine(toolkits: str = "none"):
    """The real CUDA-torch report of this machine (torch's wheels hold the library headers), with its
    toolkit removed ("none") or turned into another major ("12.8")."""
    env = _env("this-machine-cuda-torch-2.13-nvcc-only")
    if toolkits == "none":
        env.cuda_toolkits = []
    else:
        env.cuda_toolkits = [dataclasses.replace(t, home=f"/usr/local/cuda-{toolkits}", version=toolkits)
                             for t in env.cuda_toolkits]
    return env


def _decision(plan, name: str) -> str:
    return next(d.value for d in plan.decisions if d.name == name)


def _provisioned(env, version: str = "13.0"):
    home = toolkit_home(STORE, version)
    return dataclasses.replace(env, cuda_toolkits=[*env.cuda_toolkits, CudaToolkit(
        home, f"{home}/bin/nvcc", version, ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"],
        library_headers={}, origin="index")])


def test_no_toolkit_on_the_machine_plans_one_from_the_index():
    plan = make_plan(_machine(), BuildOptions(arch="9.0"))
    assert plan.ok and plan.target == "cuda" and plan.provision == "13.0"
    assert plan.cuda_home == plan.env["CUDA_HOME"] == f"{STORE}/cuda-13.0/home"
    assert _decision(plan, "CUDA toolkit") == "CUDA 13.0 from the package index (to fetch)"
    assert plan.fingerprint_inputs["nvcc_from"] == "index"


def test_a_toolkit_provisioned_earlier_is_reused_with_the_same_fingerprint():
    env = _machine()
    pending = make_plan(env, BuildOptions(arch="9.0"))
    reused = make_plan(_provisioned(env), BuildOptions(arch="9.0"))
    assert reused.provision is None and reused.cuda_home == pending.cuda_home
    assert _decision(reused, "CUDA toolkit") == "CUDA 13.0 from the package index"
    assert reused.fingerprint == pending.fingerprint


def test_a_report_without_a_store_cannot_provision_and_says_so():
    env = _machine()
    env.toolkit_store = None
    plan = make_plan(env, BuildOptions(arch="9.0"))
    [missing] = [f for f in plan.findings if f.id == "cuda-home-missing"]
    assert missing.severity == "error" and "no toolkit store" in missing.message


def test_a_fitting_system_toolkit_wins_in_auto_and_index_overrides_it():
    env = _env("h100-cuda-13.0-torch-2.13")
    auto = make_plan(env, BuildOptions())
    assert auto.provision is None and auto.cuda_home == "/usr/local/cuda-13.0"
    assert _decision(auto, "CUDA toolkit") == "CUDA 13.0 on this machine"
    assert "nvcc_from" not in auto.fingerprint_inputs
    system = make_plan(env, BuildOptions(cuda_toolkit="system"))
    assert system.fingerprint == auto.fingerprint
    index = make_plan(env, BuildOptions(cuda_toolkit="index"))
    assert index.provision == "13.0" and index.cuda_home == f"{STORE}/cuda-13.0/home"
    assert index.fingerprint != auto.fingerprint


def test_user_cuda_home_is_honoured_in_auto_but_not_with_index():
    env = _machine()
    env.env_vars["CUDA_HOME"] = "/opt/cuda-missing"
    auto = make_plan(env, BuildOptions(arch="9.0"))
    assert not auto.ok and any(f.id == "cuda-home-missing" for f in auto.findings)
    index = make_plan(env, BuildOptions(arch="9.0", cuda_toolkit="index"))
    assert index.ok and index.provision == "13.0"


def test_other_major_on_the_machine_fetches_torchs_major_from_the_index():
    env = _machine("12.8")
    auto = make_plan(env, BuildOptions(arch="9.0"))
    assert auto.ok and auto.provision == "13.0"
    system = make_plan(env, BuildOptions(arch="9.0", cuda_toolkit="system"))
    [mismatch] = [f for f in system.findings if f.id == "cuda-version-mismatch"]
    assert mismatch.severity == "error"
    assert "--cuda-toolkit index to fetch CUDA 13.0" in mismatch.fix and "--cpu-only" in mismatch.fix


def test_a_cuda_12_torch_with_only_13_on_the_machine_plans_the_redist_fetch():
    """Real report: torch 2.8.0+cu128 with this machine's nvcc 13.0 only. The index has no CUDA 12
    compiler; NVIDIA's redistributable archives have."""
    env = _env("this-machine-cuda-torch-2.8-cu128-nvcc-13.0")
    for mode in ("auto", "redist"):
        plan = make_plan(env, BuildOptions(arch="9.0", cuda_toolkit=mode))
        assert plan.ok and plan.target == "cuda", [f.message for f in plan.findings]
        assert (plan.provision, plan.provision_from) == ("12.8", "redist")
        assert plan.cuda_home == plan.env["CUDA_HOME"] == f"{STORE}/cuda-12.8/home"
        assert _decision(plan, "CUDA toolkit") == \
            "CUDA 12.8 from NVIDIA's redistributable archives (to fetch)"
        assert plan.fingerprint_inputs["nvcc_from"] == "redist"
        [target] = [d.reason for d in plan.decisions if d.name == "target"]
        assert "archives (cuda_nvcc, cuda_cudart, cuda_cccl), provisioned before the build" in target


def test_the_index_alone_cannot_serve_a_cuda_12_torch_and_the_fix_names_redist():
    env = _env("this-machine-cuda-torch-2.8-cu128-nvcc-13.0")
    for mode in ("index", "system"):
        plan = make_plan(env, BuildOptions(arch="9.0", cuda_toolkit=mode))
        assert not plan.ok and plan.provision is None
        [error] = [f for f in plan.findings if f.severity == "error"]
        assert error.id == "cuda-version-mismatch"
        assert "--cuda-toolkit redist to fetch CUDA 12.8 from NVIDIA's redistributable archives" in error.fix
    index = make_plan(env, BuildOptions(arch="9.0", cuda_toolkit="index"))
    assert "no CUDA 12 compiler" in " ".join(f.message for f in index.findings)


def test_a_redist_toolkit_provisioned_earlier_is_reused_with_the_same_fingerprint():
    env = _env("this-machine-cuda-torch-2.8-cu128-nvcc-13.0")
    pending = make_plan(env, BuildOptions(arch="9.0"))
    home = toolkit_home(STORE, "12.8")
    env.cuda_toolkits.append(CudaToolkit(home, f"{home}/bin/nvcc", "12.8", ["sm_90"], library_headers={},
                                         origin="redist"))
    reused = make_plan(env, BuildOptions(arch="9.0"))
    assert reused.provision is None and reused.cuda_home == pending.cuda_home
    assert _decision(reused, "CUDA toolkit") == "CUDA 12.8 from NVIDIA's redistributable archives"
    assert reused.fingerprint == pending.fingerprint


def test_redist_is_used_only_where_its_layout_was_checked():
    env = _env("this-machine-cuda-torch-2.8-cu128-nvcc-13.0")
    env.os.machine = "aarch64"
    plan = make_plan(env, BuildOptions(arch="9.0"))
    assert not plan.ok and plan.provision is None
    assert "redistributable archives on Linux x86_64 only, not Linux aarch64" in " ".join(
        f.message for f in plan.findings)


def test_index_toolkit_is_not_fetched_when_it_would_not_fit_better():
    """A host compiler too new for CUDA 13.0 is as too new for the index's 13.0: keep this machine's."""
    env = _env("h100-cuda-13.0-torch-2.13")
    too_new = Compiler("gcc", "99.1.0", "/usr/bin/g++-99")
    compilers = dataclasses.replace(env.compilers, cxx=too_new, candidates=[too_new])
    env = dataclasses.replace(env, compilers=compilers)
    plan = make_plan(env, BuildOptions())
    assert plan.provision is None and plan.cuda_home == "/usr/local/cuda-13.0"


@pytest.mark.parametrize(("torch_cuda", "arches", "expected"), [
    ("13.0", ["9.0"], "13.0"),
    ("12.6", ["12.0"], "12.8"),    # sm_120 needs CUDA 12.8: a newer minor of the same major
    ("12.8", ["8.6"], "12.8"),
    ("11.8", ["12.0"], "11.8"),    # no CUDA 11 targets sm_120: the major is kept
])
def test_index_version_is_torchs_unless_an_arch_needs_a_newer_minor(torch_cuda, arches, expected):
    env = _machine()
    env.torch.cuda = torch_cuda
    assert index_version(env, arches) == expected


def test_the_table_says_which_majors_the_index_can_compile_with():
    assert compiler_wheels("13.0").available and compiler_wheels("13.2").requirement_for("13.2") == \
        "cuda-toolkit[nvcc,cccl]==13.2.*"
    assert not compiler_wheels("12.8").available and "ptxas" in compiler_wheels("12.8").missing
    assert not compiler_wheels("11.8").available
    assert compiler_wheels("10.2") is None


def test_the_index_is_used_only_where_its_layout_was_checked():
    env = _env("win-torch-2.13-cuda-13.2-vs2022")
    env.cuda_toolkits = []
    plan = make_plan(env, BuildOptions(arch="9.0"))
    assert plan.provision is None and not plan.ok
    assert "on Linux x86_64 only, not Windows AMD64" in " ".join(f.message for f in plan.findings)


def test_a_driver_too_old_for_torch_blocks_cuda_builds_but_not_cpu_only_ones():
    env = _env("driver-565-with-cuda-13.0")
    cuda = make_plan(env, BuildOptions())
    assert [f.severity for f in cuda.findings if f.id == "driver-too-old"] == ["error"] and not cuda.ok
    cpu = make_plan(env, BuildOptions(cpu_only=True))
    assert [f.severity for f in cpu.findings if f.id == "driver-too-old"] == ["warning"] and cpu.ok


def test_the_command_line_takes_redist_and_the_json_plan_says_where_from(capsys):
    from mmbuild.cli import main

    report = ENVS / "this-machine-cuda-torch-2.8-cu128-nvcc-13.0.json"
    argv = ["plan", "--from-env", str(report), "--arch", "9.0", "--cuda-toolkit", "redist", "--json"]
    assert main(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    assert (plan["provision"], plan["provision_from"]) == ("12.8", "redist")
    assert plan["cuda_home"].endswith("/toolkits/cuda-12.8/home")

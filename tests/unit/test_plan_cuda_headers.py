"""CUDA headers torch needs: from the toolkit, else from torch's NVIDIA wheels (CPATH), else blocked.

The environment is a real capture (tests/fixtures/envs/this-machine-cuda-torch-2.13-nvcc-only.json):
a CUDA 13.0 nvcc-only toolkit and the CUDA torch from the package index with its NVIDIA wheels.
"""

from __future__ import annotations

from pathlib import Path

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.probe.cuda_headers import locate_headers, toolkit_include_dirs, wheel_include_dirs

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
WHEELS = "/work/cudavenv/lib/python3.11/site-packages/nvidia/cu13/include"


def _env():
    return load_environment(ENVS / "this-machine-cuda-torch-2.13-nvcc-only.json")


def test_headers_the_toolkit_lacks_come_from_torchs_wheels_through_cpath():
    plan = make_plan(_env(), BuildOptions(arch="9.0"))
    assert plan.ok and plan.target == "cuda"
    assert plan.env["CPATH"] == WHEELS
    row = next(d for d in plan.decisions if d.name == "CUDA headers")
    assert WHEELS in row.value and "/usr/local/cuda-13.0/include" in row.value


def test_the_users_cpath_stays_after_the_wheel_dirs():
    env = _env()
    env.env_vars["CPATH"] = "/opt/mine/include"
    plan = make_plan(env, BuildOptions(arch="9.0"))
    assert plan.env["CPATH"] == f"{WHEELS}:/opt/mine/include"


def test_a_full_toolkit_needs_no_cpath():
    env = _env()
    env.cuda_toolkits[0].library_headers = dict(env.torch.cuda_library_headers)
    plan = make_plan(env, BuildOptions(arch="9.0"))
    assert plan.ok and "CPATH" not in plan.env


def test_a_header_no_source_provides_blocks_the_plan_with_the_wheels_to_install():
    env = _env()
    env.torch.cuda_library_headers = {"cuda_runtime_api.h": WHEELS}
    plan = make_plan(env, BuildOptions(arch="9.0"))
    (finding,) = [f for f in plan.findings if f.id == "cuda-header-missing"]
    assert not plan.ok and finding.severity == "error"
    assert "cusparse.h" in finding.message and "/usr/local/cuda-13.0" in finding.message
    assert "pip install nvidia-cusparse nvidia-cublas nvidia-cusolver" in finding.fix


def test_cuda_12_names_the_cu12_wheels():
    env = _env()
    env.torch.cuda, env.torch.version = "12.8", "2.8.0+cu128"
    env.cuda_toolkits[0].version = "12.8"
    env.torch.cuda_library_headers = {}
    plan = make_plan(env, BuildOptions(arch="9.0"))
    (finding,) = [f for f in plan.findings if f.id == "cuda-header-missing"]
    assert "nvidia-cusparse-cu12" in finding.fix and "nvidia-cuda-runtime" not in finding.fix


def test_a_saved_report_without_header_facts_plans_as_before():
    env = _env()
    env.cuda_toolkits[0].library_headers = None
    plan = make_plan(env, BuildOptions(arch="9.0"))
    assert plan.ok and "CPATH" not in plan.env


def test_probe_finds_each_header_in_the_first_dir_that_has_it(tmp_path):
    toolkit = tmp_path / "cuda"
    (toolkit / "include").mkdir(parents=True)
    (toolkit / "targets" / "x86_64-linux" / "include").mkdir(parents=True)
    (toolkit / "include" / "cuda_runtime_api.h").write_text("")
    (toolkit / "targets" / "x86_64-linux" / "include" / "cublas_v2.h").write_text("")
    site = tmp_path / "site-packages"
    for folder in ("nvidia/cusparse/include", "nvidia/cu13/include", "torch"):
        (site / folder).mkdir(parents=True)
    (site / "nvidia/cusparse/include/cusparse.h").write_text("")
    (site / "nvidia/cu13/include/cusparse.h").write_text("")

    dirs = toolkit_include_dirs(str(toolkit))
    assert dirs == [str(toolkit / "include"), str(toolkit / "targets/x86_64-linux/include")]
    assert locate_headers(dirs) == {"cuda_runtime_api.h": dirs[0], "cublas_v2.h": dirs[1]}
    wheels = wheel_include_dirs(str(site / "torch"))
    assert wheels == [str(site / "nvidia/cu13/include"), str(site / "nvidia/cusparse/include")]
    assert locate_headers(wheels) == {"cusparse.h": wheels[0]}
    assert wheel_include_dirs(None) == []

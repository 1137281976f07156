"""Table-driven plans for saved Environment reports (tests/fixtures/envs, see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_fleet_plan, make_plan

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"

# (scenario, options, expected): expected keys are BuildPlan fields, plus
#   "ids": finding ids that must appear, "no_ids": ids that must not, "env": entries of plan.env,
#   "no_env": keys absent from plan.env, "gencode_has": flags that must be in the gencode list.
SCENARIOS = [
    (
        "this-machine-cpu-torch-2.13",
        {},
        {
            "target": "cpu",
            "mmcv": ("mmcv", "2.2.0"),
            "cxx_std": "c++20",
            "ok": True,
            "max_jobs": 2,
            "patches": ["mmcv-setup-pkg-resources", "mmcv-setup-cxx-std"],
            "env": {"MMCV_WITH_OPS": "1", "FORCE_CUDA": "0", "MMBUILD_CXX_STD": "c++20", "MAX_JOBS": "2"},
            "no_env": ["TORCH_CUDA_ARCH_LIST", "MMCV_CUDA_ARGS", "CC", "CXX"],
            "ids": ["not-compiled-with-gpu"],
        },
    ),
    (
        "rtx3090-cuda-11.0",
        {},
        {
            "target": "cuda",
            "mmcv": ("mmcv-full", "1.7.2"),
            "cxx_std": "c++14",
            "ok": True,
            "gencode_has": ["-gencode=arch=compute_80,code=sm_80"],
            "no_gencode": ["compute_86"],
            "ids": ["nvcc-arch-unsupported"],
            "env": {"FORCE_CUDA": "1"},
        },
    ),
    (
        "rtx3090-cuda-11.0",
        {"arch": "8.6"},
        {
            "arch_list": ["8.0"],
            "gencode": ["-gencode=arch=compute_80,code=sm_80"],
            "env": {
                "TORCH_CUDA_ARCH_LIST": "8.0",
                "MMCV_CUDA_ARGS": "-gencode=arch=compute_80,code=sm_80 -DTHREADS_PER_BLOCK=512",
            },
        },
    ),
    (
        "k80-cuda-12.4",
        {},
        {
            "target": "cuda",
            "ok": False,
            "ids": ["nvcc-arch-unsupported"],
            "gencode": [],
            "message_has": "11.8",
        },
    ),
    ("gcc-5.5-only", {}, {"ok": False, "ids": ["gcc-unsupported"], "no_env": ["CC", "CXX"]}),
    (
        "gcc-5.5-with-gcc-9",
        {},
        {
            "ok": True,
            "env": {"CC": "/usr/bin/gcc-9", "CXX": "/usr/bin/g++-9"},
            "host_compiler": "/usr/bin/g++-9",
        },
    ),
    (
        "gcc-13-cuda-12.1-with-gcc-11",
        {},
        {"ok": True, "cxx_std": "c++17", "env": {"CC": "/usr/bin/gcc-11", "CXX": "/usr/bin/g++-11"}},
    ),
    ("gcc-13-cuda-12.1-with-gcc-11", {"cxx": "/usr/bin/g++"}, {"ok": False, "ids": ["gcc-unsupported"]}),
    (
        "win-vs2019-cuda-9.2",
        {},
        {
            "ok": False,
            "ids": ["msvc-unsupported"],
            "no_env": ["CC", "CXX"],
            "env": {"DISTUTILS_USE_SDK": "1"},
        },
    ),
    (
        "win-torch-1.5-cuda-10.1-vs2017",
        {},
        {
            "ok": True,
            "patches_has": ["torch15-all-slots"],
            "env": {"DISTUTILS_USE_SDK": "1"},
            "ids": ["torch15-all-slots"],
        },
    ),
    ("win-torch-1.6-cuda-10.1-vs2019", {}, {"ok": True, "patches_has": ["torch16-in-class-initializer"]}),
    ("win-torch-1.7-cuda-11.0-vs2019", {}, {"ok": True, "patches_has": ["torch17-profile-kind"]}),
    (
        "win-torch-1.7-cuda-11.0-vs2019",
        {"cpu_only": True},
        {"target": "cpu", "patches_lacks": ["torch17-profile-kind"]},
    ),
    (
        "win-torch-2.13-cuda-13.2-vs2022",
        {},
        {
            "ok": True,
            "cxx_std": "c++20",
            "env_contains": {"MMCV_CUDA_ARGS": "-Xcompiler /Zc:preprocessor"},
            "patches_has": ["mmcv-thc-atomics"],
        },
    ),
    ("mmcv-and-mmcv-full-installed", {}, {"ids": ["mmcv-dual-install"]}),
    ("mmdet-3.3.0-cap", {}, {"mmcv": ("mmcv", "2.1.0"), "ok": True, "reason_has": "mmdet 3.3.0"}),
    ("mmdet-3.3.0-cap", {"mmcv": "2.2.0"}, {"mmcv": ("mmcv", "2.2.0"), "ids": ["mmcv-version-incompatible"]}),
    # the installed mmcv 2.2.0 is refused by the installed mmsegmentation 1.2.2: the plan names it and
    # builds 2.1.0, which repairs it
    ("this-machine-mmcv-2.2.0-under-mmseg-1.2.2", {},
     {"mmcv": ("mmcv", "2.1.0"), "ok": True, "reason_has": "mmsegmentation 1.2.2"}),
    ("mmdet-2.28-needs-mmcv-full", {}, {"mmcv": ("mmcv-full", "1.7.2"), "ok": True}),
    # mmseg 0.29 caps mmcv-full below 1.7: 1.6.2 was tested up to torch 1.13, so it is tried (a
    # warning); torchvision is what blocks here.
    (
        "mmseg-0.29-mmcv-full-1.6-untested",
        {},
        {
            "ok": False,
            "mmcv": ("mmcv-full", "1.6.2"),
            "ids": ["untested-version", "torchvision-missing"],
            "no_ids": ["mmcv-version-incompatible"],
        },
    ),
    ("cpu-torch-on-gpu-machine", {}, {"target": "cpu", "ok": True, "ids": ["torch-cuda-unavailable"]}),
    (
        "cpu-torch-on-gpu-machine",
        {"arch": "8.9"},
        {"target": "cpu", "ok": False, "ids": ["torch-cuda-unavailable"]},
    ),
    ("build-node-no-gpu-cuda-13.0", {}, {"target": "cuda", "ok": False, "ids": ["no-gpu-arch-list"]}),
    (
        "build-node-no-gpu-cuda-13.0",
        {"arch": "8.0,9.0"},
        {
            "target": "cuda",
            "ok": True,
            "arch_list": ["8.0", "9.0"],
            "no_ids": ["no-gpu-arch-list"],
            "gencode": ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90"],
            "env": {"TORCH_CUDA_ARCH_LIST": "8.0;9.0"},
        },
    ),
    ("build-node-no-gpu-cuda-13.0", {"arch": "Ampere"}, {"arch_list": ["8.0", "8.6+PTX"], "ok": True}),
    ("64-cpus-16-gib-free", {}, {"target": "cuda", "max_jobs_below": 16, "max_jobs_above": 1}),
    ("64-cpus-16-gib-free", {"cpu_only": True}, {"target": "cpu", "max_jobs": 9}),
    ("64-cpus-16-gib-free", {"arch": "7.5,8.0,8.6,8.9,9.0,10.0,12.0"}, {"max_jobs": 2}),
    ("64-cpus-16-gib-free", {"jobs": 40}, {"max_jobs": 40, "ids": ["compiler-oom"]}),
    # A GPU is present: a CPU-only mmcv is built only when asked for.
    ("torch-cu130-only-cuda-12.8", {}, {"target": "cpu", "ok": False, "ids": ["cuda-version-mismatch"],
                                        "message_has": "--cpu-only"}),
    ("torch-cu130-only-cuda-12.8", {"cpu_only": True}, {"target": "cpu", "ok": True}),
    (
        "two-toolkits-picks-matching-major",
        {},
        {"target": "cuda", "cuda_home": "/usr/local/cuda-13.0", "no_ids": ["cuda-version-mismatch"]},
    ),
    ("cuda-home-points-nowhere", {}, {"ok": False, "ids": ["cuda-home-missing"]}),
    ("torch-cuda-no-toolkit", {}, {"target": "cpu", "ok": True, "ids": ["cuda-home-missing"]}),
    ("torch-cuda-no-toolkit", {"arch": "9.0"}, {"target": "cpu", "ok": False, "ids": ["cuda-home-missing"]}),
    ("driver-565-with-cuda-13.0", {}, {"ok": False, "ids": ["driver-too-old"], "message_has": "565.57.01"}),
    (
        "rtx5090-cuda-12.4",
        {},
        {
            "ok": True,
            "ids": ["nvcc-arch-unsupported"],
            "gencode_has": ["-gencode=arch=compute_90,code=compute_90"],
        },
    ),
    ("8x-l4-names-only", {}, {"arch_list": ["8.9+PTX"], "ok": True}),
    (
        "titan-v-and-rtx-5880-ada-cuda-12.8",
        {},
        {"arch_list": ["7.0", "8.9+PTX"], "cxx_std": "c++17", "no_ids": ["driver-too-old"]},
    ),
    (
        "h100-cuda-13.0-torch-2.13",
        {},
        {
            "ok": True,
            "threads_per_block": 512,
            "cxx_std": "c++20",
            "patches": [
                "mmcv-setup-pkg-resources",
                "mmcv-setup-cxx-std",
                "mmcv-setup-cuda-args",
                "mmcv-threads-per-block",
                "mmcv-thc-atomics",
            ],
            "env_contains": {"MMCV_CUDA_ARGS": "-DTHREADS_PER_BLOCK=512"},
        },
    ),
    (
        "h100-cuda-13.0-torch-2.13",
        {"threads_per_block": 256},
        {"threads_per_block": 256, "env_contains": {"MMCV_CUDA_ARGS": "-DTHREADS_PER_BLOCK=256"}},
    ),
    (
        "h100-cuda-13.0-torch-2.13",
        {"arch": "9.0a"},
        {"arch_list": ["9.0a"], "gencode": ["-gencode=arch=compute_90a,code=sm_90a"]},
    ),
    ("jetson-nano-32k-registers", {}, {"threads_per_block": 256, "max_jobs": 1}),
    ("torch-2.12-cuda-11.8-cxx17-fallback", {}, {"cxx_std": "c++17", "ok": True, "ids": ["cxx-standard"]}),
    (
        "user-env-vars-honoured",
        {},
        {"arch_list": ["8.6", "9.0"], "max_jobs": 3, "env_contains": {"MMCV_CUDA_ARGS": "-lineinfo"}},
    ),
    ("user-env-vars-honoured", {"arch": "9.0", "jobs": 5}, {"arch_list": ["9.0"], "max_jobs": 5}),
    # This machine with the index's CUDA torch: no GPU, so the arches must be given.
    ("this-machine-cuda-torch-2.13-nvcc-only", {}, {"ok": False, "ids": ["no-gpu-arch-list"]}),
    (
        "this-machine-cuda-torch-2.13-nvcc-only",
        {"arch": "8.0,9.0"},
        {"target": "cuda", "ok": True, "arch_list": ["8.0", "9.0"], "pch": True,
         "env": {"CPATH": "/work/cudavenv/lib/python3.11/site-packages/nvidia/cu13/include"},
         "patches_has": ["mmcv-setup-cuda-args"]},
    ),
    ("this-machine-cuda-torch-2.13-nvcc-only", {"arch": "9.0", "pch": False}, {"pch": False}),
    # The index's newest torch releases: planned, never refused by a stale table.
    (
        "this-machine-cuda-torch-2.15-nvcc-13.0",
        {"arch": "9.0"},
        {"target": "cuda", "ok": True, "mmcv": ("mmcv", "2.2.0"), "cxx_std": "c++20",
         "no_ids": ["mmcv-version-incompatible"], "patches_has": ["mmcv-setup-cuda-args"]},
    ),
    (
        "this-machine-cuda-torch-2.14.1-nvcc-13.0",
        {"cpu_only": True},
        {"target": "cpu", "ok": True, "mmcv": ("mmcv", "2.2.0"), "no_ids": ["mmcv-version-incompatible"]},
    ),
    # torch 2.8.0+cu128 with nvcc 13.0 only: the index has no CUDA 12 compiler; NVIDIA's
    # redistributable archives have, so auto plans to fetch CUDA 12.8 from them.
    (
        "this-machine-cuda-torch-2.8-cu128-nvcc-13.0",
        {"arch": "9.0"},
        {"ok": True, "target": "cuda", "provision": "12.8", "provision_from": "redist",
         "no_ids": ["cuda-version-mismatch"]},
    ),
    (
        "this-machine-cuda-torch-2.8-cu128-nvcc-13.0",
        {"arch": "9.0", "cuda_toolkit": "index"},
        {"ok": False, "ids": ["cuda-version-mismatch"], "message_has": "no CUDA 12 compiler"},
    ),
    (
        "this-machine-cuda-torch-2.8-cu128-nvcc-13.0",
        {"cpu_only": True},
        {"target": "cpu", "ok": True},
    ),
    # Debian's CUDA 11.8 at /usr beside 13.0, torch 2.0.1+cu117, no CUDA_HOME: /usr's, with g++-11.
    (
        "this-machine-debian-cuda-11.8-and-13.0-torch-2.0.1-cu117",
        {"arch": "8.6", "ops": "nms,roi_align"},
        {"target": "cuda", "ok": True, "cuda_home": "/usr", "cxx_std": "c++14",
         "env": {"CUDA_HOME": "/usr", "CXX": "/usr/bin/g++-11"}, "ids": ["gcc-unsupported"]},
    ),
]


def _plan(name: str, options: dict):
    return make_plan(load_environment(ENVS / f"{name}.json"), BuildOptions(**options))


def _ids(plan) -> set[str]:
    return {f.id for f in plan.findings}


# What each key of a scenario's expectations checks in the plan.
EXPECTATIONS = {
    "mmcv": lambda plan, value: (plan.mmcv.package, plan.mmcv.version) == value,
    "ok": lambda plan, value: plan.ok is value,
    "ids": lambda plan, value: set(value) <= _ids(plan),
    "no_ids": lambda plan, value: not set(value) & _ids(plan),
    "env": lambda plan, value: {k: plan.env.get(k) for k in value} == value,
    "env_contains": lambda plan, value: all(part in plan.env[k] for k, part in value.items()),
    "no_env": lambda plan, value: not set(value) & set(plan.env),
    "gencode_has": lambda plan, value: set(value) <= set(plan.gencode),
    "no_gencode": lambda plan, value: not any(part in flag for part in value for flag in plan.gencode),
    "patches_has": lambda plan, value: set(value) <= set(plan.patches),
    "patches_lacks": lambda plan, value: not set(value) & set(plan.patches),
    "message_has": lambda plan, value: value in " ".join(f.message for f in plan.findings),
    "reason_has": lambda plan, value: value in plan.mmcv.reason,
    "max_jobs_below": lambda plan, value: plan.max_jobs < value,
    "max_jobs_above": lambda plan, value: plan.max_jobs > value,
}


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    SCENARIOS,
    ids=[f"{s[0]}{'-' + '-'.join(map(str, s[1].values())) if s[1] else ''}" for s in SCENARIOS],
)
def test_scenario(name: str, options: dict, expected: dict) -> None:
    plan = _plan(name, options)
    details = [f"{f.severity} {f.id}: {f.message}" for f in plan.findings] + [plan.gencode, plan.env]
    for key, value in expected.items():
        check = EXPECTATIONS.get(key, lambda plan, value, key=key: getattr(plan, key) == value)
        assert check(plan, value), (key, value, details)


def test_at_least_25_saved_scenarios() -> None:
    assert len(list(ENVS.glob("*.json"))) >= 25
    assert len({s[0] for s in SCENARIOS}) >= 25


def test_every_saved_scenario_is_in_the_table() -> None:
    assert {p.stem for p in ENVS.glob("*.json")} - {"fleet-node-l4"} == {s[0] for s in SCENARIOS}


def test_cuda_plan_keeps_arch_list_and_cuda_args_consistent() -> None:
    for name, options, _ in SCENARIOS:
        plan = _plan(name, options)
        if plan.target != "cuda" or not plan.gencode:
            continue
        args = plan.env["MMCV_CUDA_ARGS"].split()
        assert [a for a in args if a.startswith("-gencode")] == plan.gencode
        assert plan.env["TORCH_CUDA_ARCH_LIST"] == ";".join(plan.arch_list)
        assert f"-DTHREADS_PER_BLOCK={plan.threads_per_block}" in args


def test_cpu_plan_on_cuda_torch_hides_the_gpu_from_setup_py() -> None:
    plan = _plan("h100-cuda-13.0-torch-2.13", {"cpu_only": True})
    assert plan.env["FORCE_CUDA"] == "0" and plan.env["CUDA_VISIBLE_DEVICES"] == ""
    assert "mmcv-threads-per-block" not in plan.patches and plan.threads_per_block is None


def test_fleet_plan_unions_the_nodes_arches_and_checks_each_node() -> None:
    build = load_environment(ENVS / "h100-cuda-13.0-torch-2.13.json")
    node = load_environment(ENVS / "fleet-node-l4.json")
    plan = make_fleet_plan([build, node], BuildOptions(), names=["h100", "l4"])
    assert plan.target == "cuda"
    assert [a.rstrip("+PTX") for a in plan.arch_list] == ["8.9", "9.0"]
    l4_findings = [f for f in plan.findings if f.message.startswith("l4: ")]
    assert "driver-too-old" in {f.id for f in l4_findings}  # 570.86.15 cannot run CUDA 13 code
    assert "undefined-symbol" not in {f.id for f in l4_findings}  # same torch and Python as the build node
    assert plan.ok is False


def test_fleet_node_with_another_torch_cannot_load_the_wheel() -> None:
    build = load_environment(ENVS / "h100-cuda-13.0-torch-2.13.json")
    other = load_environment(ENVS / "this-machine-cpu-torch-2.13.json")
    plan = make_fleet_plan([build, other], BuildOptions(), names=["h100", "cpu-box"])
    problems = {f.id for f in plan.findings if f.message.startswith("cpu-box: ")}
    assert "undefined-symbol" in problems


def test_fleet_of_identical_nodes_matches_the_single_plan() -> None:
    env = load_environment(ENVS / "h100-cuda-13.0-torch-2.13.json")
    single, fleet = make_plan(env, BuildOptions()), make_fleet_plan([env, env], BuildOptions())
    assert fleet.fingerprint == single.fingerprint
    assert fleet.ok

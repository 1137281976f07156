"""The CUDA tier: real CUDA builds of mmcv with the real nvcc, in a venv with the index's CUDA torch.

No GPU is needed to build: nvcc compiles SASS for any arch. Only running kernels needs one, so
verify here runs every CPU check, reads the arches and registers from the built ``_ext``, and
reports the CUDA numeric checks as skipped.

- A subset build of mmcv 2.2.0 (nms, roi_align, deform_conv, nms_rotated) for sm_80 and sm_90
  in one wheel, with a user flag in MMCV_CUDA_ARGS: it installs and verifies.
- A machine with a GPU, a CUDA torch and no CUDA toolkit: with ``--cuda-toolkit system`` install
  is blocked (exit 3) instead of leaving a CPU-only mmcv; by default CUDA 13.0's compiler is
  fetched from the package index and the build uses it. The GPU is nvidia-smi's captured output
  (tests/fixtures/probe); the toolkits are hidden in a private mount namespace (needs root, as CI has).
- mmcv-full 1.7.2: the plan asks for torchvision first; with it, a CUDA build installs, verifies
  and ``import mmcv.ops`` works.

The tests share one venv and run in file order (the mmcv-full test replaces the mmcv 2.2.0 of
the first ones). About 20 minutes on 2 cores with empty compiler caches.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from real_install import mmcv_args, run

from mmbuild.probe.cuda import discover_toolkits
from mmbuild.verify.fatbin import read_embedded_code

pytestmark = pytest.mark.integration

OPS = "nms,roi_align,deform_conv,nms_rotated"
USER_CUDA_ARGS = "-lineinfo -Xptxas -warn-spills"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMI_OUTPUT = FIXTURES / "probe" / "nvidia_smi" / "query-csv-570.86.15.txt"


@pytest.fixture(scope="module")
def subset_install(cuda_venv) -> dict:
    env = {**cuda_venv["env"], "MMCV_CUDA_ARGS": USER_CUDA_ARGS}
    argv = [cuda_venv["python"], "-m", "mmbuild", "install", "--json", "--arch", "8.0,9.0", "--ops", OPS,
            *mmcv_args("2.2.0")]
    started = time.monotonic()
    result = run(argv, env)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    print(f"\nCUDA subset install (sm_80 + sm_90, {OPS}): {seconds:.0f} s")
    return {"report": report, "seconds": seconds}


def _installed_ext(cuda_venv) -> Path:
    found = run([cuda_venv["python"], "-c", "import glob, os, mmcv; print(glob.glob(os.path.join("
                 "os.path.dirname(mmcv.__file__), '_ext*.so'))[0])"], cuda_venv["env"], timeout=300)
    assert found.returncode == 0, found.stderr[-2000:]
    return Path(found.stdout.strip().splitlines()[-1])


def _checks(report: dict, name: str) -> list[dict]:
    return [c for c in report["verify"]["checks"] if c["name"] == name]


def test_subset_cuda_build_installs_and_verifies(subset_install):
    report = subset_install["report"]
    plan = report["plan"]
    assert report["ok"] and report["cache"] == "built"
    assert plan["target"] == "cuda"
    assert plan["gencode"] == ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90"]
    assert "mmcv-setup-cuda-args" in plan["patches"]
    stages = [s["stage"] for s in report["steps"]]
    assert stages[-4:] == ["preflight", "build", "install", "verify"]
    verify = report["verify"]
    assert verify["ok"]
    assert not [c for c in verify["checks"] if c["status"] == "fail"]
    cpu_numeric = {c["name"] for c in verify["checks"]
                   if c["kind"] == "numeric" and c["device"] == "cpu" and c["status"] == "pass"}
    assert {"nms", "roi_align", "nms_rotated"} <= cpu_numeric, sorted(cpu_numeric)
    # No GPU here: nothing that needs one may pass; the CUDA checks say why they did not run.
    on_gpu = [c for c in verify["checks"] if c["device"].startswith("cuda")]
    assert on_gpu and all(c["status"] == "skip" for c in on_gpu), on_gpu
    assert {"nms", "roi_align", "deform_conv2d", "nms_rotated"} <= {
        c["name"] for c in on_gpu if "no GPU visible" in c["message"]}


def test_ext_holds_sass_for_both_arches(cuda_venv, subset_install):
    code = read_embedded_code(_installed_ext(cuda_venv))
    assert code.sass == [80, 90] and code.ptx == []
    arch = _checks(subset_install["report"], "arches in _ext")
    assert arch and "sm_80" in arch[0]["message"] and "sm_90" in arch[0]["message"]


def test_registers_are_reported_per_kernel(subset_install):
    (check,) = _checks(subset_install["report"], "registers per block")
    assert check["status"] in ("pass", "fail") and "THREADS_PER_BLOCK=512" in check["message"]
    kernels = check["data"]["kernels"]
    assert {k["arch"] for k in kernels} == {"sm_80", "sm_90"}
    assert any("nms" in k["kernel"] for k in kernels) and all(k["registers"] > 0 for k in kernels)


def test_every_flag_reaches_nvcc_as_its_own_argument(subset_install):
    log = Path(subset_install["report"]["log"]).read_text(errors="replace")
    # ninja's lines of the .cu units (nvcc, behind the narrow-includes wrapper)
    unit = re.compile(r"/bin/nvcc .* -c \S+\.cu ")
    nvcc_lines = [line for line in log.splitlines() if unit.search(line)]
    assert nvcc_lines, "no nvcc command in the build log"
    for line in nvcc_lines:
        argv = shlex.split(line[line.index("] ") + 2:])
        for flag in ("-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90",
                     "-DTHREADS_PER_BLOCK=512", "-lineinfo", "-warn-spills"):
            assert flag in argv, (flag, line[:400])
    assert "nvcc fatal" not in log


# The preflight without the plan's CPATH, in its own process (so it can run where /usr/include is
# overlaid): prints [problem id, message] of the BuildFailedError it raises.
PREFLIGHT = """
import json, sys
from pathlib import Path
from mmbuild.build.preflight import run_preflight
from mmbuild.errors import BuildFailedError
from mmbuild.model.build_plan import BuildPlan
args = json.loads(sys.argv[1])
try:
    run_preflight(BuildPlan.from_dict(args["plan"]), args["env"], Path(args["work"]), gpu_present=False,
                  python=args["python"])
    print(json.dumps([None, "the preflight passed"]))
except BuildFailedError as error:
    print(json.dumps([error.problem_id, error.message]))
"""


def _without_distro_cuda_headers(tmp_path: Path) -> list[str]:
    """The argv prefix that runs a command where /usr/include lacks the CUDA library headers torch
    needs (Debian's nvidia-cuda-dev puts them there; gcc searches it last): an overlay whiting them
    out, in a private mount namespace. Nothing when /usr/include has none of them."""
    from mmbuild.knowledge.torch_facts import cuda_headers_needed

    present = [h for h in cuda_headers_needed() if (Path("/usr/include") / h).exists()]
    if not present:
        return []
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip(f"/usr/include holds {', '.join(present)}: hiding them needs root and unshare")
    upper, work = tmp_path / "overlay-upper", tmp_path / "overlay-work"
    upper.mkdir()
    work.mkdir()
    for header in present:
        os.mknod(upper / header, stat.S_IFCHR | 0o600, os.makedev(0, 0))   # an overlayfs whiteout
    mount = (f"mount -t overlay overlay -o lowerdir=/usr/include,upperdir={shlex.quote(str(upper))},"
             f"workdir={shlex.quote(str(work))} /usr/include")
    return ["unshare", "-m", "sh", "-c", mount + ' && exec "$@"', "sh"]


def _hide_toolkits() -> tuple[str, list[str]]:
    """Shell commands hiding every toolkit the probe finds, and what a build with one would log.

    A toolkit in a folder of its own is covered by an empty tmpfs. The distribution's (home /usr)
    keeps /usr: its nvcc gets /dev/null bound over it (no longer a file) and its real folder,
    /usr/lib/nvidia-cuda-toolkit, the tmpfs."""
    commands, markers = [], []
    for home, nvcc, _ in discover_toolkits():
        real = os.path.realpath(home)
        if real in ("/", "/usr"):
            commands += [f"mount --bind /dev/null {shlex.quote(nvcc)}"]
            if os.path.isdir("/usr/lib/nvidia-cuda-toolkit"):
                commands += ["mount -t tmpfs none /usr/lib/nvidia-cuda-toolkit"]
            markers.append(nvcc)
        else:
            commands.append(f"mount -t tmpfs none {shlex.quote(real)}")
            markers.append(real)
    return "".join(f"{c} && " for c in commands), markers


def test_preflight_stops_a_missing_cuda_header_in_seconds(cuda_venv, tmp_path):
    """The plan's CPATH (torch's NVIDIA wheels) is what makes torch's CUDA headers compile here:
    without it the preflight fails on cusparse.h, with its catalogue id, instead of the first .cu
    (where the distribution's CUDA headers lie in /usr/include, they are hidden for that run)."""
    from mmbuild.build.preflight import run_preflight
    from mmbuild.model.build_plan import BuildPlan

    planned = run([cuda_venv["python"], "-m", "mmbuild", "plan", "--json", "--arch", "9.0"], cuda_venv["env"],
                  timeout=300)
    assert planned.returncode == 0, planned.stderr[-2000:]
    plan = BuildPlan.from_dict(json.loads(planned.stdout))
    assert "nvidia" in plan.env["CPATH"]
    without = {k: v for k, v in plan.env.items() if k != "CPATH"}
    started = time.monotonic()
    failed = run([*_without_distro_cuda_headers(tmp_path), cuda_venv["python"], "-c", PREFLIGHT,
                  json.dumps({"plan": plan.to_dict(), "env": without, "work": str(tmp_path / "without"),
                              "python": cuda_venv["python"]})], cuda_venv["env"], timeout=300)
    problem_id, message = json.loads(failed.stdout.strip().splitlines()[-1])
    assert problem_id == "cuda-header-missing" and "cusparse.h" in message
    assert time.monotonic() - started < 120
    probes = run_preflight(plan, plan.env, tmp_path / "with", gpu_present=False, python=cuda_venv["python"])
    assert [p.name for p in probes] == ["python_flags_probe.cpp", "cuda_probe.cu", "torch_cuda_probe.cu",
                                        "torch_extension_probe.cpp"]


def test_gpu_machine_without_a_toolkit_fetches_one_and_never_builds_for_cpu(cuda_venv, tmp_path):
    """A CUDA torch and every toolkit of the machine hidden.

    With a GPU (nvidia-smi's captured output) and ``--cuda-toolkit system``: exit 3, and --cpu-only
    plans the CPU build on purpose. That GPU's driver (570.86.15) is too old for CUDA 13, so the
    build that follows runs without it, for --arch 9.0: by default CUDA 13.0's compiler is fetched
    from the package index into mmbuild's cache and the build uses it (the machine's toolkits are
    not even visible), installs and verifies.
    """
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("hiding the toolkit needs a private mount namespace (root and unshare)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\ncat {shlex.quote(str(SMI_OUTPUT))}\n")
    smi.chmod(0o755)
    hide, hidden = _hide_toolkits()
    env = {k: v for k, v in cuda_venv["env"].items() if k not in ("CUDA_HOME", "CUDA_PATH", "CONDA_PREFIX")}
    no_gpu_path = f"{Path(cuda_venv['python']).parent}:/usr/bin:/bin"

    def install(*extra: str, gpu: bool = True) -> subprocess.CompletedProcess:
        argv = ["unshare", "-m", "sh", "-c", hide + 'exec "$@"', "sh", cuda_venv["python"], "-m", "mmbuild",
                "install", "--json", "--ops", "nms", *extra]
        return run(argv, {**env, "PATH": f"{bin_dir}:{no_gpu_path}" if gpu else no_gpu_path}, timeout=2400)

    blocked = install("--cuda-toolkit", "system")
    if blocked.returncode != 3 and "unshare" in blocked.stderr:
        pytest.skip(f"no private mount namespace here: {blocked.stderr.strip()[-200:]}")
    assert blocked.returncode == 3, blocked.stderr[-3000:]
    report = json.loads(blocked.stdout)
    assert report["error"]["problem_id"] == "cuda-home-missing"
    assert "--cpu-only" in report["error"]["fix"] and "--cuda-toolkit index" in report["error"]["fix"]
    assert not [s for s in report["steps"] if s["stage"] in ("toolkit", "build", "install")]

    on_purpose = install("--cpu-only", "--dry-run")
    assert on_purpose.returncode == 0, on_purpose.stderr[-3000:]
    assert json.loads(on_purpose.stdout)["plan"]["target"] == "cpu"

    started = time.monotonic()
    fetched = install("--arch", "9.0", *mmcv_args("2.2.0"), gpu=False)
    seconds = time.monotonic() - started
    assert fetched.returncode == 0, fetched.stderr[-4000:]
    report = json.loads(fetched.stdout)
    home = str(cuda_venv["root"] / "cache" / "toolkits" / "cuda-13.0" / "home")
    assert report["plan"]["cuda_home"] == home and report["plan"]["env"]["CUDA_HOME"] == home
    stages = [s["stage"] for s in report["steps"]]
    assert stages[-5:] == ["toolkit", "preflight", "build", "install", "verify"]
    log = Path(report["log"]).read_text(errors="replace")
    assert f"{home}/bin/nvcc" in log and not any(h in log for h in hidden)
    assert report["verify"]["ok"]
    print(f"\ninstall with CUDA 13.0 fetched from the package index (nms, sm_90): {seconds:.0f} s")


def test_mmcv_full_needs_torchvision_then_builds_and_imports(cuda_venv):
    python, env = cuda_venv["python"], cuda_venv["env"]
    version = "1.7.2"
    planned = run([python, "-m", "mmbuild", "plan", "--json", "--mmcv", f"mmcv-full=={version}",
                   "--arch", "9.0"], env, timeout=300)
    plan = json.loads(planned.stdout)
    missing = [f for f in plan["findings"] if f["id"] == "torchvision-missing"]
    assert planned.returncode == 3 and missing, planned.stderr[-2000:]
    wanted = re.search(r"torchvision==[\d.]+", missing[0]["fix"]).group(0)
    assert wanted == "torchvision==0.28.0"

    pip = [python, "-m", "pip", "install", "-q", "--isolated", "--disable-pip-version-check"]
    subprocess.run([*pip, wanted], check=True, timeout=1800)
    argv = [python, "-m", "mmbuild", "install", "--json", "--mmcv", f"mmcv-full=={version}", "--arch", "9.0",
            "--ops", "nms,roi_align"]
    result = run(argv, env)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    assert report["plan"]["mmcv"]["package"] == "mmcv-full" and report["verify"]["ok"]
    imported = run([python, "-c", "import mmcv, mmcv.ops, torch, torchvision\n"
                    "boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30.]])\n"
                    "dets, keep = mmcv.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)\n"
                    "print(mmcv.__version__, keep.tolist(), torch.__version__)"], env, timeout=300)
    assert imported.returncode == 0, imported.stderr[-3000:]
    torch_version = cuda_venv["torch"]["version"]
    assert imported.stdout.strip().splitlines()[-1] == f"{version} [0, 2] {torch_version}", \
        "mmcv-full's ops work, and pip never changed torch"

"""verify on a machine without a GPU, for a CUDA build: the arches and registers of the real
``_ext`` are reported (never passed for a device), and the CUDA numeric checks are skipped.

The libraries are built here by nvcc from ``register_kernels.cu``; the cuobjdump outputs are real
captures (tests/fixtures/verify/README.md), and cuobjdump itself runs where it is installed.
"""


from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmbuild.knowledge.versions import release
from mmbuild.probe.cuda import discover_toolkits, parse_nvcc_version
from mmbuild.verify import cuobjdump, supervisor
from mmbuild.verify.cuobjdump import Cuobjdump, cuobjdumps, list_registers, unread_message, wheel_cuobjdumps
from mmbuild.verify.fatbin import EmbeddedCode, read_embedded_code
from mmbuild.verify.report import CheckResult
from mmbuild.verify.resource_usage import KernelRegisters, parse_cuobjdump_resource_usage, unique_kernels
from mmbuild.verify.supervisor import (
    arch_checks,
    resource_check_without_device,
    resource_checks,
    run_worker,
    site_dirs_of,
)
from mmbuild.verify.worker import _cuda_build, _no_gpu_reason

FIXTURES = Path(__file__).parent.parent / "fixtures" / "verify"
ROOT = Path(__file__).parent.parent.parent
CAT = shutil.which("cat") or "/bin/cat"


def _newest_nvcc() -> tuple[str | None, str | None]:
    """(nvcc, its version) of the newest toolkit here: the one g++ of this machine builds sm_90 with."""
    found = []
    for _, nvcc, _ in discover_toolkits():
        version = parse_nvcc_version(subprocess.run([nvcc, "--version"], capture_output=True, text=True,
                                                    check=False).stdout)
        found += [(nvcc, version)] if version else []
    return max(found, key=lambda f: release(f[1]), default=(None, None))


NVCC, NVCC_VERSION = _newest_nvcc()
# A venv whose site-packages hold NVIDIA's cuobjdump wheel (pip install nvidia-cuda-cuobjdump), when
# set; the CUDA tier (tests/integration/test_cuda_real.py) runs the same lookup in its own venv.
CUDA_VENV = os.environ.get("MMBUILD_TEST_CUDA_VENV", "")
SM80_SM90 = ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90"]
PTX90 = ["-gencode=arch=compute_90,code=compute_90"]
HEAVY, LIGHT = "_Z16heavy_accumulatePfPKfii", "_Z11light_scalePfPKffi"
H100 = {"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "regs_per_block": 65536}


def _fixture(name):
    return (FIXTURES / name).read_text()


def _venv_sites():
    return glob.glob(os.path.join(CUDA_VENV, "lib", "python3*", "site-packages")) if CUDA_VENV else []


def _cuobjdump():
    """A cuobjdump that reads what NVCC built: of its CUDA release or newer (an older one cannot)."""
    wanted = release(NVCC_VERSION)
    return next((t.path for t in cuobjdumps(None, _venv_sites())
                 if wanted and release(t.version) and release(t.version) >= wanted), None)


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    """{"sass": the sm_80+sm_90 library, "ptx": the same with compute_90 PTX}, built by nvcc."""
    if NVCC is None:
        pytest.skip("nvcc not installed")
    out = tmp_path_factory.mktemp("regs")
    built = {}
    for name, gencode in (("sass", SM80_SM90), ("ptx", SM80_SM90 + PTX90)):
        built[name] = out / f"regs_{name}.so"
        subprocess.run([NVCC, "-shared", "-Xcompiler", "-fPIC", "-cudart", "shared", *gencode,
                        "-o", str(built[name]), str(FIXTURES / "register_kernels.cu")],
                       check=True, capture_output=True)
    return built


# ---- parsing the real cuobjdump output ----------------------------------------------------------

def test_parses_both_arches_of_the_real_output_and_ignores_device_link_and_ptx_entries():
    expected = [KernelRegisters("sm_80", HEAVY, 168), KernelRegisters("sm_80", LIGHT, 10),
                KernelRegisters("sm_90", HEAVY, 168), KernelRegisters("sm_90", LIGHT, 10)]
    assert parse_cuobjdump_resource_usage(_fixture("cuobjdump_res_usage_sm80_sm90.txt")) == expected
    assert parse_cuobjdump_resource_usage(_fixture("cuobjdump_res_usage_sm80_sm90_ptx.txt")) == expected


def test_a_kernel_in_several_cubins_of_one_arch_is_listed_once_with_its_most_registers():
    kernels = [KernelRegisters("sm_80", HEAVY, 160), KernelRegisters("sm_80", LIGHT, 10),
               KernelRegisters("sm_80", HEAVY, 168), KernelRegisters("sm_90", HEAVY, 160)]
    assert unique_kernels(kernels) == [KernelRegisters("sm_80", HEAVY, 168),
                                       KernelRegisters("sm_80", LIGHT, 10),
                                       KernelRegisters("sm_90", HEAVY, 160)]


def test_the_fatbinary_reader_agrees_with_cuobjdump_on_the_arches(libraries):
    listed = _fixture("cuobjdump_res_usage_sm80_sm90_ptx.txt")
    elf = re.findall(r"Fatbin elf code:\n=+\narch = sm_(\d+)", listed)
    ptx = re.findall(r"Fatbin ptx code:\n=+\narch = sm_(\d+)", listed)
    code = read_embedded_code(libraries["ptx"])
    assert code == EmbeddedCode(sass=sorted({int(a) for a in elf}), ptx=sorted({int(a) for a in ptx}))
    assert code == EmbeddedCode(sass=[80, 90], ptx=[90])
    assert read_embedded_code(libraries["sass"]) == EmbeddedCode(sass=[80, 90], ptx=[])


# ---- the arch check without a GPU ---------------------------------------------------------------

def test_without_a_gpu_the_arches_are_reported_as_a_skip_with_the_list_as_data(libraries):
    [result] = arch_checks(str(libraries["ptx"]), [])
    assert (result.name, result.kind, result.device, result.status) == ("arches in _ext", "arch", "-", "skip")
    assert result.data == {"sass": ["sm_80", "sm_90"], "ptx": ["compute_90"]}
    assert "not checked against a device" in result.message
    assert "sm_80, sm_90, compute_90 (PTX)" in result.message
    assert "SASS runs on 8.0-8.x, 9.0-9.x; PTX is JIT-compiled on 9.0 and newer" in result.message
    [sass_only] = arch_checks(str(libraries["sass"]), [])
    assert sass_only.status == "skip" and sass_only.data == {"sass": ["sm_80", "sm_90"], "ptx": []}


def test_with_a_gpu_the_arch_check_still_judges_the_device_and_carries_the_list(libraries):
    [result] = arch_checks(str(libraries["sass"]), [H100])
    assert (result.device, result.status) == ("cuda:0", "pass")
    assert result.data == {"sass": ["sm_80", "sm_90"], "ptx": [], "capability": "9.0"}


# ---- the register check without a GPU ----------------------------------------------------------

def test_heavy_kernel_fails_at_512_threads_on_every_arch_without_a_gpu():
    kernels = parse_cuobjdump_resource_usage(_fixture("cuobjdump_res_usage_sm80_sm90.txt"))
    result = resource_check_without_device(kernels, 512)
    assert (result.kind, result.device, result.status, result.id) == (
        "resources", "-", "fail", "invalid-configuration-argument")
    assert f"{HEAVY} (168 regs, sm_80, sm_90)" in result.message and LIGHT not in result.message.split(";")[0]
    assert "65536 registers per block" in result.message and "4 kernels (sm_80, sm_90)" in result.message
    assert f"most registers: {HEAVY} 168 (sm_80, sm_90)" in result.message
    assert "THREADS_PER_BLOCK=384 fits" in result.message  # 12 warps of 168 x 32 = 5376 registers
    assert result.data["kernels"] == [{"arch": k.arch, "kernel": k.kernel, "registers": k.registers}
                                      for k in kernels]
    assert result.data["arches"] == ["sm_80", "sm_90"]
    assert [(o["arch"], o["kernel"], o["largest_block"]) for o in result.data["over"]] == [
        ("sm_80", HEAVY, 384), ("sm_90", HEAVY, 384)]
    assert (result.data["threads_per_block"], result.data["regs_per_block"],
            result.data["largest_fitting_block"]) == (512, 65536, 384)


def test_every_kernel_fits_at_384_threads_and_the_pass_names_the_heaviest():
    kernels = parse_cuobjdump_resource_usage(_fixture("cuobjdump_res_usage_sm80_sm90.txt"))
    result = resource_check_without_device(kernels, 384)
    assert (result.device, result.status, result.id) == ("-", "pass", None)
    assert f"most registers: {HEAVY} 168" in result.message and result.data["over"] == []


def test_resource_checks_without_gpus_give_one_result_per_library_not_an_empty_list():
    output = _fixture("cuobjdump_res_usage_sm80_sm90_ptx.txt")
    [result] = resource_checks("/x/_ext.so", [], 512, output, code=EmbeddedCode([80, 90], [90]))
    assert (result.device, result.status) == ("-", "fail") and len(result.data["kernels"]) == 4
    [result] = resource_checks("/x/_ext.so", [], None, output)  # THREADS_PER_BLOCK unknown: mmcv's 512
    assert result.status == "fail" and result.data["threads_per_block"] == 512
    [on_h100] = resource_checks("/x/_ext.so", [H100], 512, output)
    assert (on_h100.device, on_h100.status) == ("cuda:0", "fail")
    assert {k["arch"] for k in on_h100.data["kernels"]} == {"sm_90"}


def test_a_library_without_sass_or_without_kernels_is_not_passed():
    assert resource_checks("/x/_ext.so", [], 512, code=EmbeddedCode()) == []  # CPU-only build
    [ptx_only] = resource_checks("/x/_ext.so", [], 512, code=EmbeddedCode([], [80]))
    assert ptx_only.status == "skip" and "only PTX" in ptx_only.message
    [nothing] = resource_checks("/x/_ext.so", [], 512, "Fatbin elf code:\narch = sm_80\n")
    assert nothing.status == "skip" and "no kernels" in nothing.message
    [no_code] = resource_checks("/x/_ext.so", [H100], 512, code=EmbeddedCode())
    assert no_code.status == "skip"


def test_real_cuobjdump_on_the_built_library_matches_the_captured_output(libraries):
    tool = _cuobjdump()
    if tool is None:
        pytest.skip(f"no cuobjdump of CUDA {NVCC_VERSION} or newer (pip install nvidia-cuda-cuobjdump)")
    for name, fixture in (("sass", "cuobjdump_res_usage_sm80_sm90.txt"),
                          ("ptx", "cuobjdump_res_usage_sm80_sm90_ptx.txt")):
        live = subprocess.run([tool, "--dump-resource-usage", str(libraries[name])],
                              capture_output=True, text=True, check=True).stdout
        assert parse_cuobjdump_resource_usage(live) == parse_cuobjdump_resource_usage(_fixture(fixture))
    [result] = resource_checks(str(libraries["ptx"]), [], 512, code=read_embedded_code(libraries["ptx"]),
                               cuobjdump=tool)
    assert (result.status, result.data["largest_fitting_block"]) == ("fail", 384)


# ---- finding cuobjdump --------------------------------------------------------------------------

def _tool(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_the_wheel_layout_next_to_torch_is_found(tmp_path):
    site = tmp_path / "site-packages"
    cu13 = _tool(site / "nvidia" / "cu13" / "bin" / "cuobjdump")
    other = _tool(site / "nvidia" / "cuda_cuobjdump" / "bin" / "cuobjdump")
    assert wheel_cuobjdumps([tmp_path / "nowhere", site]) == [cu13, other]


def _versioned_tool(path: Path, version: str, listing: Path | None = None) -> Path:
    """A cuobjdump answering --version with CUDA ``version`` and a listing: ``listing``'s text, or the
    captured failure of Debian's 11.8 one (exit 1)."""
    fails = FIXTURES / "cuobjdump_debian_11.8_fails"
    out, err, code = (listing, None, 0) if listing else (f"{fails}.stdout.txt", f"{fails}.stderr.txt", 1)
    cat = CAT  # the tests run these with an empty PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""#!/bin/sh
if [ "$1" = --version ]; then echo 'Cuda compilation tools, release {version}, V{version}.1'; exit 0; fi
{cat} '{out}'; {f"{cat} '{err}' >&2; " if err else ""}exit {code}
""")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_machine_toolkits(tmp_path, monkeypatch):
    """Only the toolkits a test lays out: no fixed places, no CUDA_HOME, an empty PATH."""
    for name in ("CUDA_HOME", "CUDA_PATH", "CONDA_PREFIX", "CUDA_ROOT", "CUDA_TOOLKIT_ROOT_DIR",
                 "CUDAToolkit_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(cuobjdump, "ROOT", str(tmp_path / "no-fixed-places"))
    monkeypatch.setattr(supervisor.site, "getsitepackages", lambda: [])
    monkeypatch.setattr(supervisor.sysconfig, "get_paths", lambda: {"purelib": str(tmp_path / "purelib")})


def test_the_build_toolkits_cuobjdump_first_then_the_newest(tmp_path, monkeypatch, no_machine_toolkits):
    site = tmp_path / "site-packages"
    wheel = _versioned_tool(site / "nvidia" / "cu13" / "bin" / "cuobjdump", "13.2")
    _tool(tmp_path / "built-with" / "bin" / "nvcc")
    built_with = _versioned_tool(tmp_path / "built-with" / "bin" / "cuobjdump", "11.8")
    on_path = _versioned_tool(tmp_path / "path" / "cuobjdump", "12.4")
    assert cuobjdumps() == []
    assert [t.path for t in cuobjdumps(site_dirs=[site])] == [str(wheel)]
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    tools = cuobjdumps(str(tmp_path / "built-with"), [site])
    assert [(t.path, t.version, t.built_with) for t in tools] == [
        (str(built_with), "11.8", True), (str(wheel), "13.2", False), (str(on_path), "12.4", False)]
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "built-with"))      # a toolkit found, not the build's
    assert [t.path for t in cuobjdumps(None, [site])] == [str(wheel), str(on_path), str(built_with)]


def test_a_cuobjdump_that_cannot_read_the_library_is_followed_by_the_next(tmp_path):
    listing = FIXTURES / "cuobjdump_res_usage_sm80_sm90.txt"
    debian = Cuobjdump(str(_versioned_tool(tmp_path / "usr" / "bin" / "cuobjdump", "11.8")), "11.8", True)
    wheel = Cuobjdump(str(_versioned_tool(tmp_path / "cu13" / "cuobjdump", "13.2", listing)), "13.2")
    read = list_registers("/x/_ext.so", [debian, wheel])
    assert read.tool == wheel and {k.arch for k in read.kernels} == {"sm_80", "sm_90"}
    assert [t.path for t, _ in read.tried] == [debian.path, wheel.path]
    assert "sm_4" in read.tried[0][1] and read.tried[1][1] is None


def test_when_no_cuobjdump_reads_it_the_check_says_which_were_tried_not_their_errors(
        tmp_path, monkeypatch, no_machine_toolkits):
    _tool(tmp_path / "usr" / "bin" / "nvcc")
    _versioned_tool(tmp_path / "usr" / "bin" / "cuobjdump", "11.8")
    built_with = {"home": str(tmp_path / "usr"), "version": "11.8"}
    [result] = resource_checks("/x/_ext.so", [], 512, code=EmbeddedCode([86], []), built_with=built_with)
    assert (result.name, result.status) == ("registers per block", "skip")
    assert "fatal" not in result.message and "sm_4" not in result.message
    assert result.message == (
        f"register use not checked: no cuobjdump here reads _ext's code (built with CUDA 11.8); tried "
        f"{tmp_path}/usr/bin/cuobjdump (CUDA 11.8, the build toolkit). A cuobjdump of CUDA 11.8 or newer "
        "reads it (pip install nvidia-cuda-cuobjdump)")
    [tried] = result.data["cuobjdump_tried"]
    assert tried["version"] == "11.8" and "Support for 'sm_4' has been removed" in tried["error"]
    assert unread_message(list_registers("/x", []), None).startswith("cuobjdump listed no kernels")


def test_the_real_wheel_install_is_found_where_pip_puts_it():
    sites = [s for s in _venv_sites() if (Path(s) / "nvidia" / "cu13" / "bin" / "cuobjdump").is_file()]
    if not sites:
        pytest.skip(f"nvidia-cuda-cuobjdump not installed in {CUDA_VENV}")
    assert wheel_cuobjdumps(sites)[0] == Path(sites[0]) / "nvidia" / "cu13" / "bin" / "cuobjdump"


def test_site_dirs_come_from_where_the_worker_found_torch_and_mmcv_first():
    info = {"torch": {"path": "/venv/lib/python3.11/site-packages/torch"},
            "mmcv": {"path": "/other/site-packages/mmcv"}}
    assert site_dirs_of(info)[:2] == ["/venv/lib/python3.11/site-packages", "/other/site-packages"]


def test_verify_without_a_gpu_finds_the_wheel_cuobjdump_next_to_torch(libraries, tmp_path, monkeypatch,
                                                                      no_machine_toolkits):
    """The whole supervisor path: worker facts of a no-GPU machine, the real library, cuobjdump
    found only through the site-packages the worker reported torch in."""
    tool = _cuobjdump()
    if tool is None:
        pytest.skip(f"no cuobjdump of CUDA {NVCC_VERSION} or newer (pip install nvidia-cuda-cuobjdump)")
    site = tmp_path / "site-packages"
    (site / "nvidia" / "cu13" / "bin").mkdir(parents=True)
    (site / "nvidia" / "cu13" / "bin" / "cuobjdump").symlink_to(tool)
    monkeypatch.setattr(supervisor.site, "getsitepackages", lambda: [])
    monkeypatch.setattr(supervisor.site, "getusersitepackages", lambda: str(tmp_path / "user"))
    monkeypatch.setattr(supervisor.sysconfig, "get_paths", lambda: {"purelib": str(tmp_path / "purelib")})
    info = {"mmcv": {"version": "2.2.0", "path": str(tmp_path / "mmcv"),
                     "built_for": {"target": "cuda", "threads_per_block": 512}},
            "devices": ["cpu"], "gpus": [], "torch": {"path": str(site / "torch")},
            "ext_path": str(libraries["ptx"]), "ext_functions": []}
    monkeypatch.setattr(supervisor, "run_worker", lambda device, ops, seed: (info, []))
    report = supervisor.verify("all", [], 7)
    by_name = {c.name: c for c in report.checks}
    assert report.devices == ["cpu"]
    assert (by_name["arches in _ext"].status, by_name["arches in _ext"].data) == (
        "skip", {"sass": ["sm_80", "sm_90"], "ptx": ["compute_90"]})
    registers = by_name["registers per block"]
    assert (registers.device, registers.status, registers.id) == (
        "-", "fail", "invalid-configuration-argument")
    document = json.loads(json.dumps(report.to_dict()))
    assert document["checks"][1]["data"]["largest_fitting_block"] == 384
    assert not report.ok


# ---- the CUDA numeric checks without a GPU (real worker processes) -----------------------------

def _fake_mmcv(tmp_path, metadata):
    root = tmp_path / "fake"
    shutil.copytree(FIXTURES / "fake_mmcv", root)
    if metadata is not None:
        (root / "mmcv" / "_mmbuild.json").write_text(json.dumps(metadata))
    return root


def _worker(root, device):
    pytest.importorskip("torch")  # the worker process imports torch
    path = os.pathsep.join([str(root), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return run_worker(device, ["nms", "bbox_overlaps"], 7, python=sys.executable,
                      env={**os.environ, "PYTHONPATH": path, "CUDA_VISIBLE_DEVICES": ""})


def _cuda_metadata():
    torch = pytest.importorskip("torch")
    return {"target": "cuda", "torch": {"version": torch.__version__, "cuda": "13.0", "cxx11_abi": None}}


def test_cuda_build_without_a_gpu_reports_its_cuda_checks_as_skipped(tmp_path):
    root = _fake_mmcv(tmp_path, _cuda_metadata())
    info, results = _worker(root, "all")
    assert info["devices"] == ["cpu"]  # the report's devices stay the real ones
    cuda = {r.name: r for r in results if r.device == "cuda"}
    assert set(cuda) == {"cuda ops compiled", "nms", "bbox_overlaps"}
    assert {r.status for r in cuda.values()} == {"skip"}
    assert all(r.message.startswith("no GPU visible") for r in cuda.values())
    assert [r.status for r in results if r.device == "cpu" and r.name in ("nms", "bbox_overlaps")] == [
        "pass", "pass"]
    assert not any(r.status == "pass" and r.device.startswith("cuda") for r in results)
    info, results = _worker(root, "cuda")
    assert info["devices"] == []
    assert {(r.name, r.status) for r in results if r.kind == "numeric"} == {("nms", "skip"),
                                                                            ("bbox_overlaps", "skip")}


def test_cpu_build_or_device_cpu_adds_no_cuda_rows(tmp_path):
    cpu_build = _fake_mmcv(tmp_path / "cpu", {"target": "cpu", "torch": {"version": "x", "cuda": None}})
    _, results = _worker(cpu_build, "all")
    assert not [r for r in results if r.device == "cuda"]
    _, results = _worker(_fake_mmcv(tmp_path / "cuda", _cuda_metadata()), "cpu")
    assert not [r for r in results if r.device == "cuda"]


def test_a_cuda_build_without_metadata_is_recognised_by_its_gpu_code(libraries):
    assert _cuda_build(None, SimpleNamespace(__file__=str(libraries["sass"])))
    assert not _cuda_build(None, SimpleNamespace(__file__=str(FIXTURES / "fake_mmcv" / "mmcv" / "_ext.py")))
    assert _cuda_build({"target": "cuda"}, None) and not _cuda_build({"target": "cpu"}, None)


def test_the_skip_says_why_no_gpu_is_visible():
    cpu_torch = SimpleNamespace(__version__="2.13.0+cpu", version=SimpleNamespace(cuda=None))
    cuda_torch = SimpleNamespace(__version__="2.13.0+cu130", version=SimpleNamespace(cuda="13.0"))
    assert "CPU build" in _no_gpu_reason(cpu_torch)
    assert "torch.cuda.is_available() is False" in _no_gpu_reason(cuda_torch)


def test_data_is_left_out_of_the_json_of_checks_without_it():
    assert "data" not in CheckResult("nms", "numeric", "cpu", "pass").to_dict()
    with_data = CheckResult("arches in _ext", "arch", "-", "skip", data={"sass": ["sm_80"], "ptx": []})
    assert CheckResult.from_dict(with_data.to_dict()) == with_data


def test_device_cpu_on_a_gpu_machine_does_not_claim_there_is_no_gpu(libraries, monkeypatch):
    info = {"mmcv": {"built_for": {"target": "cuda"}}, "devices": ["cpu"], "gpus": [H100],
            "ext_path": str(libraries["sass"])}
    monkeypatch.setattr(supervisor, "run_worker", lambda device, ops, seed: (info, []))
    monkeypatch.setattr(supervisor, "cuobjdumps", lambda *args, **kwargs: [])
    checks = {c.name: c for c in supervisor.verify("cpu", [], 7).checks}
    assert checks["arches in _ext"].device == "-" and checks["arches in _ext"].status == "skip"
    assert checks["arches in _ext"].message.startswith("--device cpu: not checked against a device")
    [on_gpu] = supervisor.verify("all", [], 7).checks[:1]
    assert (on_gpu.device, on_gpu.status) == ("cuda:0", "pass")

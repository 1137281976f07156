"""torch probe: the child-process report, and broken torch installs faked on PYTHONPATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mmbuild.probe import torch_probe

# Import errors as torch prints them (the texts the catalogue's signatures come from).
LIBTORCH_CUDA_CU = "libtorch_cuda_cu.so: cannot open shared object file: No such file or directory"
UNDEFINED_SYMBOL = ("/usr/lib/python3/site-packages/torch/lib/libtorch_cpu.so: undefined symbol: "
                    "iJIT_NotifyEvent")


def _fake_torch(tmp_path: Path, body: str) -> dict[str, str]:
    package = tmp_path / "torch"
    package.mkdir()
    (package / "__init__.py").write_text(body)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tmp_path)
    return env


@pytest.mark.parametrize(("error", "problem_id"), [
    (LIBTORCH_CUDA_CU, "libtorch-cuda-cu-missing"),
    (UNDEFINED_SYMBOL, "undefined-symbol"),
])
def test_broken_torch_becomes_a_classified_finding(tmp_path, error, problem_id):
    env = _fake_torch(tmp_path, f"raise ImportError({error!r})\n")
    report = torch_probe.probe_torch(env=env)
    assert report.torch is None
    assert [f.id for f in report.findings] == [problem_id]
    assert report.findings[0].severity == "error"
    assert error.split(":")[-1].strip() in report.findings[0].message


def test_other_import_error_keeps_its_last_line(tmp_path):
    env = _fake_torch(tmp_path, "raise OSError('[WinError 126] The specified module could not be found')\n")
    report = torch_probe.probe_torch(env=env)
    assert report.findings[0].id == "torch-import-failed"
    assert "WinError 126" in report.findings[0].message


def test_torch_that_kills_the_interpreter_is_a_finding(tmp_path):
    body = "import os\nos.write(2, b'Illegal instruction (core dumped)\\n')\nos._exit(132)\n"
    env = _fake_torch(tmp_path, body)
    report = torch_probe.probe_torch(env=env)
    assert report.torch is None and report.findings[0].id == "torch-import-failed"
    assert "Illegal instruction" in report.findings[0].message


def test_hanging_torch_import_times_out(tmp_path):
    env = _fake_torch(tmp_path, "import time\ntime.sleep(30)\n")
    report = torch_probe.probe_torch(env=env, timeout=1.0)
    assert report.torch is None
    assert "timed out" in report.findings[0].message


def test_missing_torch(tmp_path):
    # A fake package raising what Python raises when torch is not installed at all.
    env = _fake_torch(tmp_path, "raise ModuleNotFoundError(\"No module named 'torch'\")\n")
    assert torch_probe.probe_torch(env=env).findings[0].id == "torch-missing"


def test_report_with_gpus_is_parsed():
    # The shape the child prints on a CUDA machine (values of an H100 SXM as torch reports them).
    line = torch_probe.MARKER + (
        '{"version": "2.13.0+cu130", "cuda": "13.0", "cxx11_abi": true, "path": "/t", '
        '"arch_list": ["sm_75", "sm_80", "sm_90"], "cuda_available": true, "thc_headers": false, '
        '"gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "major": 9, "minor": 0, '
        '"total_memory": 85520809984, "multi_processor_count": 132, '
        '"max_threads_per_block": null, "regs_per_block": null}]}')
    data = torch_probe.parse_child_output("some warning\n" + line + "\n")
    info = torch_probe.torch_info_from_report(data)
    gpus = torch_probe.gpus_from_report(data)
    assert info.cuda == "13.0" and info.cuda_available and info.arch_list[-1] == "sm_90"
    assert gpus[0].capability == "9.0" and gpus[0].memory_mib == 81559 and gpus[0].multiprocessors == 132


@pytest.mark.skipif(sys.platform == "win32", reason="uses this machine's torch")
def test_real_torch_of_this_environment():
    pytest.importorskip("torch")
    report = torch_probe.probe_torch()
    assert report.torch is not None, report.findings
    assert report.torch.version and report.torch.path
    assert isinstance(report.torch.thc_headers, bool)
    if "+cpu" in report.torch.version:
        assert report.torch.cuda is None and not report.torch.cuda_available and report.gpus == []


@pytest.mark.parametrize(("error", "problem_id"), [
    (LIBTORCH_CUDA_CU, "libtorch-cuda-cu-missing"),
    (UNDEFINED_SYMBOL, "undefined-symbol"),
    ("RuntimeError: something else entirely", "torch-import-failed"),
])
def test_import_errors_are_named_by_the_one_classifier(error, problem_id):
    assert torch_probe.classify_import_error(f"ImportError: {error}").id == problem_id

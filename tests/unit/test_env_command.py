"""``mmbuild env``: the JSON document, the readable report, and the time it takes."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from mmbuild.commands import env as env_command
from mmbuild.model.environment import Environment, MemoryInfo, OSInfo, PythonInfo
from mmbuild.model.findings import Finding


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmbuild", "env", *args],
                          capture_output=True, text=True, timeout=60)


def test_env_json_is_one_schema_1_document_and_round_trips():
    result = _run("--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == 1
    assert Environment.from_dict(data).to_dict() == data
    assert data["cpus"] >= 1 and data["memory"]["total_mib"]
    assert set(data["env_vars"]) == {"TORCH_CUDA_ARCH_LIST", "MAX_JOBS", "MMCV_CUDA_ARGS", "CUDA_HOME",
                                     "CPATH", "CC", "CXX", "CFLAGS", "CXXFLAGS", "PYTORCH_NVCC"}


def test_env_report_has_sections_and_findings_last():
    result = _run()
    assert result.returncode == 0, result.stderr
    text = result.stderr                 # human text on stderr; stdout stays free for JSON
    assert result.stdout == ""
    sections = ["System", "PyTorch", "CUDA toolkits", "GPUs", "Host compilers", "Findings"]
    positions = [text.index(s) for s in sections]
    assert positions == sorted(positions)
    assert "\033[" not in text  # not a terminal: no colour


def _environment(findings: list[Finding]) -> Environment:
    return Environment(os=OSInfo("Linux", "6.1", "x86_64"), python=PythonInfo("3.11.7", "/p"),
                       memory=MemoryInfo(1024, 512), findings=findings)


def test_render_lists_each_finding_with_its_fix():
    finding = Finding("driver-too-old", "error", "driver 470 is older than CUDA 12.8 needs", "update it")
    text = env_command.render(_environment([finding]), io.StringIO())
    findings_part = text[text.index("Findings (1)"):]
    assert "[driver-too-old]" in findings_part and "fix: update it" in findings_part


def test_merge_findings_drops_repeats_and_puts_errors_first():
    info = Finding("a", "info", "x")
    error = Finding("b", "error", "y")
    assert env_command.merge_findings([info], [error, Finding("a", "info", "x")]) == [error, info]

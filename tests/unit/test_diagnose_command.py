"""`mmbuild diagnose [FILE|-] [--json]` end to end through the CLI."""

import io
import json
import sys
from pathlib import Path

from mmbuild.cli import main

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
NVCC_LOG = LOGS / "nvcc-arch-unsupported" / "captured-nvcc13-compute60.log"


def test_json_output(capsys):
    assert main(["diagnose", str(NVCC_LOG), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    problem = document["problems"][0]
    assert {"id", "line", "excerpt", "cause", "fix", "remedy"} <= set(problem)
    expected = ("nvcc-arch-unsupported", 2, "mmbuild install --cuda-toolkit auto")
    assert (problem["id"], problem["line"], problem["remedy"]) == expected
    assert document["first_error_line"] == 2


def test_human_output_on_stderr(capsys):
    assert main(["diagnose", str(NVCC_LOG)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    remedy = "remedy: mmbuild install --cuda-toolkit auto"
    expected = ("nvcc-arch-unsupported", "line 2:", "cause:", "fix:", remedy)
    for part in expected:
        assert part in captured.err


def test_stdin_and_nothing_recognised(capsys, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(b"compiling\nRuntimeError: weird\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["diagnose", "-"]) == 0
    err = capsys.readouterr().err
    assert "No known problem recognised" in err and "line 2" in err


def test_missing_file_is_a_usage_error(capsys, tmp_path):
    assert main(["diagnose", str(tmp_path / "nope.log")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err and "Traceback" not in err
    assert main(["diagnose", str(tmp_path)]) == 2

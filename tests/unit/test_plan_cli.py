"""``mmbuild plan`` on saved reports: output contract and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from mmbuild.cli import main
from mmbuild.model.build_plan import BuildPlan

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"


def test_json_plan_for_a_saved_report(capsys) -> None:
    rc = main(["plan", "--from-env", str(ENVS / "this-machine-cpu-torch-2.13.json"), "--json"])
    out = capsys.readouterr().out
    plan = BuildPlan.from_dict(json.loads(out))
    assert rc == 0
    assert (plan.mmcv.version, plan.target, plan.cxx_std) == ("2.2.0", "cpu", "c++20")
    assert json.loads(out)["ok"] is True


def test_blocked_plan_exits_3_and_still_prints(capsys) -> None:
    rc = main(["plan", "--from-env", str(ENVS / "k80-cuda-12.4.json")])
    captured = capsys.readouterr()
    assert rc == 3
    assert "nvcc-arch-unsupported" in captured.err and "arch list" in captured.err
    assert captured.out == ""                       # human text on stderr, as for every command


def test_bad_arch_exits_2_with_one_line(capsys) -> None:
    rc = main(["plan", "--from-env", str(ENVS / "h100-cuda-13.0-torch-2.13.json"), "--arch", "banana"])
    err = capsys.readouterr().err
    assert rc == 2 and "banana" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_report_exits_2(capsys, tmp_path) -> None:
    bad = tmp_path / "node.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["plan", "--from-env", str(bad)]) == 2
    assert main(["plan", "--from-env", str(tmp_path / "missing.json")]) == 2


def test_fleet_from_two_reports(capsys) -> None:
    rc = main(
        [
            "plan",
            "--from-env",
            str(ENVS / "h100-cuda-13.0-torch-2.13.json"),
            "--from-env",
            str(ENVS / "8x-l4-names-only.json"),
            "--json",
        ]
    )
    plan = json.loads(capsys.readouterr().out)
    assert rc == 0 and [a.rstrip("+PTX") for a in plan["arch_list"]] == ["8.9", "9.0"]

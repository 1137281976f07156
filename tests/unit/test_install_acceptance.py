"""The install stage's acceptance: verify's failures, and the import check it makes redundant."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest

from mmbuild.errors import VerifyFailedError
from mmbuild.pipeline.installing import verify

# The first line of a real import failure of an mmcv built against another torch (the worker's
# "mmcv._ext" load check keeps the exception's first line).
UNDEFINED = ("ImportError: /v/lib/python3.11/site-packages/mmcv/_ext.cpython-311-x86_64-linux-gnu.so: "
             "undefined symbol: _ZN3c1017RegisterOperatorsD1Ev")


def _run(report: dict) -> SimpleNamespace:
    trace = SimpleNamespace(verify=None, stage=lambda *a: contextlib.nullcontext())
    return SimpleNamespace(trace=trace, settings=SimpleNamespace(python="python"),
                           services=SimpleNamespace(verify=lambda python, stack: report))


def _check(name: str, kind: str, message: str) -> dict:
    return {"name": name, "kind": kind, "device": "-", "status": "fail", "message": message}


def test_an_import_that_fails_in_verify_gets_the_catalogues_fix():
    report = {"ok": False, "checks": [_check("mmcv._ext", "load", UNDEFINED)]}
    with pytest.raises(VerifyFailedError) as err:
        verify(_run(report), with_stack=False)
    assert err.value.problem_id == "undefined-symbol"
    assert err.value.fix.startswith("Rebuild mmcv against the torch")
    assert "mmcv._ext (-): ImportError" in err.value.message


def test_a_numeric_failure_points_at_verify():
    report = {"ok": False, "checks": [_check("nms", "numeric", "max error 0.5")]}
    with pytest.raises(VerifyFailedError) as err:
        verify(_run(report), with_stack=False)
    assert err.value.problem_id is None and err.value.fix == "run 'mmbuild verify' for every check"


def test_a_passing_verify_is_kept_in_the_trace():
    run = _run({"ok": True, "checks": []})
    verify(run, with_stack=False)
    assert run.trace.verify == {"ok": True, "checks": []}

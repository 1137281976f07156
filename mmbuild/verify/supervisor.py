"""Runs the verify worker, survives its crashes, and adds the file-level checks.

When the worker dies (segfault, abort) after announcing a check, that check is recorded as a
failure (catalogue id ``segfault``) and a new worker continues past it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mmbuild.process import run_command
from mmbuild.verify import arch as arch_rules
from mmbuild.verify.cpu_inventory import CpuCoverage, cpu_coverage
from mmbuild.verify.fatbin import NotAnElfFile, read_embedded_code
from mmbuild.verify.report import CheckResult, VerifyReport
from mmbuild.verify.resource_usage import (
    DEFAULT_REGS_PER_BLOCK,
    kernels_over_budget,
    largest_block,
    parse_cuobjdump_resource_usage,
)

MAX_RESTARTS = 20
WORKER_TIMEOUT_S = 600


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


def run_worker(device: str, ops: list[str], seed: int, python: str = sys.executable,
               env: dict[str, str] | None = None) -> tuple[dict[str, Any], list[CheckResult]]:
    """All worker results, restarting past each crash; returns (facts from the info event, results)."""
    info: dict[str, Any] = {}
    results: list[CheckResult] = []
    done: set[str] = set()
    for attempt in range(MAX_RESTARTS + 1):
        argv = [python, "-m", "mmbuild.verify.worker", "--device", device, "--seed", str(seed),
                "--ops", ",".join(ops), "--skip", ",".join(sorted(done))]
        if attempt:
            argv.append("--no-load")
        in_flight: tuple[str, str] | None = None
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, stdin=subprocess.DEVNULL)
        assert proc.stdout is not None
        started = time.monotonic()
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.get("event")
            if kind == "info":
                info = info or event
            elif kind == "start":
                in_flight = (event["name"], event["device"])
            elif kind == "result":
                result = CheckResult.from_dict(event["check"])
                results.append(result)
                done.add(f"{result.name}@{result.device}")
                in_flight = None
            if time.monotonic() - started > WORKER_TIMEOUT_S:
                proc.kill()
                break
        stderr = proc.stderr.read() if proc.stderr else ""
        returncode = proc.wait()
        if in_flight is None:
            if returncode != 0 and not results:
                tail = stderr.strip().splitlines()[-1:] or [_exit_reason(returncode)]
                results.append(CheckResult("verify worker", "load", "-", "fail", message=tail[0][:300]))
            return info, results
        name, dev = in_flight
        results.append(CheckResult(name, "numeric" if name != "cuda ops compiled" else "abi", dev, "fail",
                                   seed=seed, id="segfault",
                                   message=f"the process running this op {_exit_reason(returncode)}"))
        done.add(f"{name}@{dev}")
    return info, results


def find_cuobjdump() -> str | None:
    for home in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if home and (Path(home) / "bin" / "cuobjdump").is_file():
            return str(Path(home) / "bin" / "cuobjdump")
    return shutil.which("cuobjdump")


def arch_checks(ext_path: str | None, gpus: list[dict[str, Any]]) -> list[CheckResult]:
    """The arches compiled into ``_ext`` against each GPU present."""
    if not ext_path:
        return [CheckResult("arches in _ext", "arch", "-", "skip", message="mmcv._ext not found")]
    try:
        code = read_embedded_code(ext_path)
    except (OSError, NotAnElfFile) as exc:
        return [CheckResult("arches in _ext", "arch", "-", "skip", message=f"cannot read {ext_path}: {exc}")]
    results = []
    if not gpus:
        results.append(CheckResult("arches in _ext", "arch", "-", "skip",
                                   message=f"no GPU present; _ext holds {arch_rules.describe(code)}"))
    for gpu in gpus:
        results.append(arch_check_for_device(code, gpu))
    return results


def arch_check_for_device(code, gpu: dict[str, Any]) -> CheckResult:
    device = f"cuda:{gpu.get('index', 0)}"
    capability = gpu.get("capability") or "0.0"
    sass, ptx = arch_rules.runnable_code(code, capability)
    held = arch_rules.describe(code)
    if sass:
        return CheckResult("arches in _ext", "arch", device, "pass",
                           message=f"sm_{max(sass)} runs on capability {capability}; _ext holds {held}")
    if ptx:
        return CheckResult("arches in _ext", "arch", device, "pass",
                           message=f"no SASS for {capability}: the driver JIT-compiles "
                                   f"compute_{max(ptx)} PTX at first use (slow start); _ext holds {held}")
    number = arch_rules.capability_number(capability)
    return CheckResult("arches in _ext", "arch", device, "fail", id="no-kernel-image",
                       message=f"{gpu.get('name', 'GPU')} (capability {capability}) can run none of "
                               f"{held}: rebuild with --arch {capability} (sm_{number})")


def resource_checks(ext_path: str | None, gpus: list[dict[str, Any]], threads_per_block: int | None,
                    cuobjdump_output: str | None = None) -> list[CheckResult]:
    """Registers per kernel vs THREADS_PER_BLOCK on each GPU (needs cuobjdump)."""
    if not gpus or not ext_path:
        return []
    if cuobjdump_output is None:
        tool = find_cuobjdump()
        if tool is None:
            return [CheckResult("registers per block", "resources", "-", "skip",
                                message="cuobjdump not installed: register use not checked")]
        result = run_command([tool, "--dump-resource-usage", ext_path], timeout=120)
        if not result.ok:
            return [CheckResult("registers per block", "resources", "-", "skip",
                                message=f"cuobjdump failed: {result.error or result.stderr.strip()[:200]}")]
        cuobjdump_output = result.stdout
    kernels = parse_cuobjdump_resource_usage(cuobjdump_output)
    threads = threads_per_block or 512
    results = []
    for gpu in gpus:
        results.append(resource_check_for_device(kernels, gpu, threads))
    return results


def resource_check_for_device(kernels, gpu: dict[str, Any], threads: int) -> CheckResult:
    device = f"cuda:{gpu.get('index', 0)}"
    capability = gpu.get("capability") or "0.0"
    number = arch_rules.capability_number(capability)
    runnable = [k for k in kernels if arch_rules.sass_runs_on(int(k.arch[3:].rstrip("af") or 0), number)]
    regs_per_block = gpu.get("regs_per_block") or DEFAULT_REGS_PER_BLOCK
    over = kernels_over_budget(runnable or kernels, threads, regs_per_block)
    if not over:
        return CheckResult("registers per block", "resources", device, "pass",
                           message=f"{len(runnable or kernels)} kernels fit THREADS_PER_BLOCK={threads}")
    fits = min(largest_block(k.registers, regs_per_block) for k in over)
    names = ", ".join(f"{k.kernel} ({k.registers} regs)" for k in over[:5])
    return CheckResult("registers per block", "resources", device, "fail",
                       id="invalid-configuration-argument",
                       message=f"{len(over)} kernels exceed {regs_per_block} registers per block at "
                               f"THREADS_PER_BLOCK={threads}: {names}; THREADS_PER_BLOCK={fits} fits "
                               f"(mmbuild install --threads-per-block {fits})")


def coverage_of(info: dict[str, Any], results: list[CheckResult]) -> CpuCoverage:
    """The installed ``_ext``'s functions without a CPU kernel: the table for its version, plus
    any function a check found without one in this run."""
    from mmbuild.verify.opchecks import ALL_CHECKS

    functions = {c.name: c.functions for c in ALL_CHECKS}
    seen = [f for r in results if r.device == "cpu" and r.status == "skip" and "no CPU kernel" in r.message
            for f in functions.get(r.name.split(":")[0], ())]
    return cpu_coverage(info.get("ext_functions") or [], (info.get("mmcv") or {}).get("version"), seen)


def verify(device: str, ops: list[str], seed: int) -> VerifyReport:
    info, results = run_worker(device, ops, seed)
    mmcv = info.get("mmcv") or {}
    built_for = mmcv.get("built_for") or {}
    gpus = info.get("gpus") or []
    if device == "cpu":
        gpus = []
    results += arch_checks(info.get("ext_path"), gpus) if gpus or info.get("ext_path") else []
    results += resource_checks(info.get("ext_path"), gpus, built_for.get("threads_per_block"))
    report = VerifyReport(mmcv=mmcv, devices=info.get("devices") or [], checks=results)
    if info.get("ext_functions"):
        coverage = coverage_of(info, results)
        report.no_cpu_kernel, report.no_cpu_kernel_source = coverage.no_cpu_kernel, coverage.source
    return report

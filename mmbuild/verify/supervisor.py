"""Runs the verify worker, survives its crashes, and adds the file-level checks.

When the worker dies (segfault, abort) after announcing a check, that check is recorded as a
failure (catalogue id ``segfault``) and a new worker continues past it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import site
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mmbuild.knowledge.arch import Arch
from mmbuild.verify import embedded_code
from mmbuild.verify.cpu_coverage import CpuCoverage, cpu_coverage
from mmbuild.verify.cuobjdump import Cuobjdump, cuobjdumps, list_registers, unread_message
from mmbuild.verify.fatbin import EmbeddedCode, NotAnElfFile, read_embedded_code
from mmbuild.verify.report import CheckResult, VerifyReport
from mmbuild.verify.resource_usage import (
    DEFAULT_REGS_PER_BLOCK,
    KernelRegisters,
    kernels_over_budget,
    largest_block,
    parse_cuobjdump_resource_usage,
    unique_kernels,
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


def _read_events(proc: subprocess.Popen, info: dict[str, Any], results: list[CheckResult],
                 done: set[str]) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """Read one worker's events into ``results``/``done``; (info, the check it was running when it
    stopped, or None)."""
    assert proc.stdout is not None
    in_flight: tuple[str, str] | None = None
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
    return info, in_flight


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
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, stdin=subprocess.DEVNULL)
        info, in_flight = _read_events(proc, info, results, done)
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


NO_GPU = "no GPU present"


def site_dirs_of(info: dict[str, Any]) -> list[str]:
    """The target Python's site-packages: where the worker found torch and mmcv, then this
    interpreter's own (the supervisor never imports torch to find them)."""
    dirs = []
    for package_dir in ((info.get("torch") or {}).get("path"), (info.get("mmcv") or {}).get("path")):
        if package_dir:
            dirs.append(str(Path(package_dir).parent))
    with contextlib.suppress(AttributeError):  # a virtualenv's old site.py lacks them
        dirs += [*site.getsitepackages(), site.getusersitepackages()]
    dirs.append(sysconfig.get_paths()["purelib"])
    return list(dict.fromkeys(dirs))


def read_ext_code(ext_path: str | None) -> tuple[EmbeddedCode | None, str]:
    """(the GPU code in ``_ext``, why it could not be read)."""
    if not ext_path:
        return None, "mmcv._ext not found"
    try:
        return read_embedded_code(ext_path), ""
    except (OSError, NotAnElfFile) as exc:
        return None, f"cannot read {ext_path}: {exc}"


def arch_checks(ext_path: str | None, gpus: list[dict[str, Any]], code: EmbeddedCode | None = None,
                no_gpu_reason: str = NO_GPU) -> list[CheckResult]:
    """The arches compiled into ``_ext`` against each GPU present; without one, the arches are
    reported (a skip: nothing was checked against a device) with the list in ``data``."""
    if code is None:
        code, why = read_ext_code(ext_path)
        if code is None:
            return [CheckResult("arches in _ext", "arch", "-", "skip", message=why)]
    if not gpus:
        return [CheckResult("arches in _ext", "arch", "-", "skip", data=embedded_code.code_names(code),
                            message=f"{no_gpu_reason}: not checked against a device; _ext holds "
                                    f"{embedded_code.describe(code)}"
                                    + (f" ({embedded_code.describe_reach(code)})" if not code.empty else ""))]
    return [arch_check_for_device(code, gpu) for gpu in gpus]


def arch_check_for_device(code: EmbeddedCode, gpu: dict[str, Any]) -> CheckResult:
    device = f"cuda:{gpu.get('index', 0)}"
    capability = gpu.get("capability") or "0.0"
    sass, ptx = embedded_code.runnable_code(code, capability)
    held = embedded_code.describe(code)
    data = {**embedded_code.code_names(code), "capability": capability}
    if sass:
        return CheckResult("arches in _ext", "arch", device, "pass", data=data,
                           message=f"sm_{max(sass)} runs on capability {capability}; _ext holds {held}")
    if ptx:
        return CheckResult("arches in _ext", "arch", device, "pass", data=data,
                           message=f"no SASS for {capability}: the driver JIT-compiles "
                                   f"compute_{max(ptx)} PTX at first use (slow start); _ext holds {held}")
    return CheckResult("arches in _ext", "arch", device, "fail", id="no-kernel-image", data=data,
                       message=f"{gpu.get('name', 'GPU')} (capability {capability}) can run none of "
                               f"{held}: rebuild with --arch {capability} "
                               f"({embedded_code.device_arch(capability).sm})")


def resource_checks(ext_path: str | None, gpus: list[dict[str, Any]], threads_per_block: int | None,
                    cuobjdump_output: str | None = None, *, code: EmbeddedCode | None = None,
                    cuobjdump: str | None = None, site_dirs: Iterable[str | Path] = (),
                    built_with: dict[str, Any] | None = None,
                    no_gpu_reason: str = NO_GPU) -> list[CheckResult]:
    """Registers per kernel (cuobjdump) vs THREADS_PER_BLOCK on each GPU; without a GPU, against the
    registers per block that every arch since 3.0 has, for each SASS arch in ``_ext``.

    ``code`` (the fatbinary's arches, when already read) lets a library without SASS be answered
    without running cuobjdump: nothing for a CPU-only build without a GPU, a skip otherwise.
    ``built_with`` is the embedded metadata's ``cuda_toolkit`` (home, version): its cuobjdump is tried
    first (verify/cuobjdump.py).
    """
    built_with = built_with or {}
    if not ext_path:
        return []
    if code is not None and not code.sass:
        if code.empty and not gpus:
            return []
        return [CheckResult("registers per block", "resources", "-", "skip",
                            message=(f"_ext holds only PTX ({embedded_code.describe(code)}): registers are "
                                     "allocated when the driver compiles it; not checked") if code.ptx
                            else "_ext holds no GPU code: no kernel registers to check")]
    if cuobjdump_output is None:
        tools = [Cuobjdump(cuobjdump)] if cuobjdump else cuobjdumps(built_with.get("home"), site_dirs)
        if not tools:
            return [CheckResult("registers per block", "resources", "-", "skip",
                                message="cuobjdump not installed: register use not checked "
                                        "(pip install nvidia-cuda-cuobjdump, or a CUDA toolkit)")]
        listing = list_registers(ext_path, tools)
        if not listing.kernels:
            return [CheckResult("registers per block", "resources", "-", "skip",
                                data={"cuobjdump_tried": listing.tried_data()},
                                message=unread_message(listing, built_with.get("version")))]
        kernels = listing.kernels
    else:
        kernels = unique_kernels(parse_cuobjdump_resource_usage(cuobjdump_output))
        if not kernels:
            return [CheckResult("registers per block", "resources", "-", "skip",
                                message="cuobjdump listed no kernels in _ext: register use not checked")]
    threads = threads_per_block or 512
    if not gpus:
        return [resource_check_without_device(kernels, threads, no_gpu_reason)]
    return [resource_check_for_device(kernels, gpu, threads) for gpu in gpus]


def _kernel_data(kernels: list[KernelRegisters], over: list[KernelRegisters], threads: int,
                 regs_per_block: int) -> dict[str, Any]:
    return {"threads_per_block": threads, "regs_per_block": regs_per_block,
            "arches": sorted({k.arch for k in kernels}, key=lambda a: Arch.parse(a) or Arch(0, 0)),
            "kernels": [{"arch": k.arch, "kernel": k.kernel, "registers": k.registers} for k in kernels],
            "over": [{"arch": k.arch, "kernel": k.kernel, "registers": k.registers,
                      "largest_block": largest_block(k.registers, regs_per_block)} for k in over]}


def _most_registers(kernels: list[KernelRegisters]) -> str:
    top = max(kernels, key=lambda k: k.registers)
    arches = [k.arch for k in kernels if (k.kernel, k.registers) == (top.kernel, top.registers)]
    return f"most registers: {top.kernel} {top.registers} ({', '.join(arches)})"


def _over_names(over: list[KernelRegisters], limit: int = 5) -> str:
    grouped: dict[tuple[str, int], list[str]] = {}
    for k in over:
        grouped.setdefault((k.kernel, k.registers), []).append(k.arch)
    names = [f"{kernel} ({registers} regs, {', '.join(arches)})"
             for (kernel, registers), arches in list(grouped.items())[:limit]]
    return ", ".join(names) + (f" and {len(grouped) - limit} more" if len(grouped) > limit else "")


def resource_check_without_device(kernels: list[KernelRegisters], threads: int,
                                  reason: str = NO_GPU) -> CheckResult:
    """Every SASS arch's kernels against the 65536 registers per block of every arch since 3.0: a
    kernel over it cannot launch with ``threads`` threads on any device that runs that SASS."""
    over = kernels_over_budget(kernels, threads, DEFAULT_REGS_PER_BLOCK)
    data = _kernel_data(kernels, over, threads, DEFAULT_REGS_PER_BLOCK)
    scope = (f"{reason}: {len(kernels)} kernels ({', '.join(data['arches'])}) checked against the "
             f"{DEFAULT_REGS_PER_BLOCK} registers per block of every arch since 3.0")
    most = _most_registers(kernels)
    if not over:
        return CheckResult("registers per block", "resources", "-", "pass", data=data,
                           message=f"{scope}: all fit THREADS_PER_BLOCK={threads}; {most}")
    fits = min(largest_block(k.registers, DEFAULT_REGS_PER_BLOCK) for k in over)
    data["largest_fitting_block"] = fits
    return CheckResult("registers per block", "resources", "-", "fail", id="invalid-configuration-argument",
                       data=data,
                       message=f"{scope}: {len(over)} of them exceed it at THREADS_PER_BLOCK={threads}: "
                               f"{_over_names(over)}; THREADS_PER_BLOCK={fits} fits "
                               f"(mmbuild install --threads-per-block {fits}); {most}")


def resource_check_for_device(kernels: list[KernelRegisters], gpu: dict[str, Any],
                              threads: int) -> CheckResult:
    device = f"cuda:{gpu.get('index', 0)}"
    capability = gpu.get("capability") or "0.0"
    device_arch = embedded_code.device_arch(capability)
    runnable = [k for k in kernels if (Arch.parse(k.arch) or Arch(0, 0)).sass_runs_on(device_arch)]
    regs_per_block = gpu.get("regs_per_block") or DEFAULT_REGS_PER_BLOCK
    checked = runnable or kernels
    over = kernels_over_budget(checked, threads, regs_per_block)
    data = _kernel_data(checked, over, threads, regs_per_block)
    if not over:
        return CheckResult("registers per block", "resources", device, "pass", data=data,
                           message=f"{len(checked)} kernels fit THREADS_PER_BLOCK={threads}")
    fits = min(largest_block(k.registers, regs_per_block) for k in over)
    data["largest_fitting_block"] = fits
    names = ", ".join(f"{k.kernel} ({k.registers} regs)" for k in over[:5])
    return CheckResult("registers per block", "resources", device, "fail", data=data,
                       id="invalid-configuration-argument",
                       message=f"{len(over)} kernels exceed {regs_per_block} registers per block at "
                               f"THREADS_PER_BLOCK={threads}: {names}; THREADS_PER_BLOCK={fits} fits "
                               f"(mmbuild install --threads-per-block {fits})")


def coverage_of(info: dict[str, Any], results: list[CheckResult]) -> CpuCoverage:
    """The installed ``_ext``'s functions without a CPU kernel: the table for its version, plus
    any function a check found without one in this run (each check's functions come from the
    worker, so this process never imports torch)."""
    functions = info.get("check_functions") or {}
    seen = [f for r in results if r.device == "cpu" and r.status == "skip" and "no CPU kernel" in r.message
            for f in functions.get(r.name.split(":")[0], ())]
    return cpu_coverage(info.get("ext_functions") or [], (info.get("mmcv") or {}).get("version"), seen)


def verify(device: str, ops: list[str], seed: int) -> VerifyReport:
    info, results = run_worker(device, ops, seed)
    mmcv = info.get("mmcv") or {}
    built_for = mmcv.get("built_for") or {}
    present = info.get("gpus") or []
    gpus = [] if device == "cpu" else present
    reason = "--device cpu" if present and not gpus else NO_GPU
    ext_path = info.get("ext_path")
    code, _ = read_ext_code(ext_path)
    if gpus or ext_path:
        results += arch_checks(ext_path, gpus, code, no_gpu_reason=reason)
    # Where the fatbinary cannot be read here (a Windows .pyd), cuobjdump still can.
    if code is not None or (ext_path and (gpus or built_for.get("target") == "cuda")):
        results += resource_checks(ext_path, gpus, built_for.get("threads_per_block"), code=code,
                                   site_dirs=site_dirs_of(info), built_with=built_for.get("cuda_toolkit"),
                                   no_gpu_reason=reason)
    report = VerifyReport(mmcv=mmcv, devices=info.get("devices") or [], checks=results)
    if info.get("ext_functions"):
        coverage = coverage_of(info, results)
        report.no_cpu_kernel, report.no_cpu_kernel_source = coverage.no_cpu_kernel, coverage.source
    return report

"""Runs the stack checks of every installed downstream package, one worker process each.

Each worker runs in the target Python under a time limit; a worker that crashes or runs past it
loses the check in flight (recorded as a failure naming why) and the next worker goes on with
the rest of that package's checks.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from mmbuild.util.process import run_command
from mmbuild.verify.report import CheckResult
from mmbuild.verify.stack.packages import FORKS, STACK_MODELS, model_for
from mmbuild.verify.supervisor import _exit_reason

PACKAGE_TIMEOUT_S = 300   # one package's checks; the CPU ones take seconds
MAX_RESTARTS = 5

_INSTALLED = (
    "import json\nfrom importlib import metadata\nout = {{}}\n"
    "for name in {names!r}:\n"
    "    try:\n        out[name] = metadata.version(name)\n"
    "    except metadata.PackageNotFoundError:\n        pass\n"
    "print(json.dumps(out))\n"
)


def installed_stack(python: str = sys.executable) -> dict[str, str]:
    """The downstream packages with a check model installed in ``python``: {distribution: version}."""
    names = list(dict.fromkeys([m.distribution for m in STACK_MODELS] + list(FORKS)))
    result = run_command([python, "-c", _INSTALLED.format(names=names)], timeout=60)
    if not result.ok:
        return {}
    try:
        found = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}
    return {name: found[name] for name in names if name in found}


def _device_choice(devices: list[str] | None) -> str:
    if not devices:
        return "all"
    kinds = {d.split(":")[0] for d in devices}
    return "all" if kinds >= {"cpu", "cuda"} else kinds.pop()


def _lines(proc: subprocess.Popen, out: queue.Queue) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.put(line)
    out.put(None)


def _one_worker(argv: list[str], env: dict[str, str] | None, deadline: float,
                results: list[CheckResult], done: set[str]) -> tuple[tuple[str, str] | None, str]:
    """Run one worker until it ends or ``deadline``; (the check in flight when it stopped, why)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
                                stdin=subprocess.DEVNULL)
        in_flight, timed_out = _read_events(proc, deadline, results, done)
        returncode = proc.wait()
        stderr.seek(0)
        tail = [line for line in stderr.read().splitlines() if line.strip()][-1:]
    why = "timed out" if timed_out else _exit_reason(returncode)
    return in_flight, why if returncode == 0 or not tail else f"{why}: {tail[0].strip()[:300]}"


def _read_events(proc: subprocess.Popen, deadline: float, results: list[CheckResult],
                 done: set[str]) -> tuple[tuple[str, str] | None, bool]:
    """The worker's events until it ends or ``deadline``: (the check in flight, timed out)."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc, lines), daemon=True).start()
    in_flight: tuple[str, str] | None = None
    timed_out = False
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            timed_out = True
            proc.kill()
            break
        if line is None:
            break
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "start":
            in_flight = (event["name"], event["device"])
        elif event.get("event") == "result":
            result = CheckResult.from_dict(event["check"])
            results.append(result)
            done.add(f"{result.name}@{result.device}")
            in_flight = None
    return in_flight, timed_out


def check_package(python: str, distribution: str, device: str, seed: int,
                  timeout: float = PACKAGE_TIMEOUT_S, env: dict[str, str] | None = None) -> list[CheckResult]:
    """Every stack check of one package, restarting past a crash, within ``timeout`` seconds."""
    results: list[CheckResult] = []
    done: set[str] = set()
    deadline = time.monotonic() + timeout
    for _ in range(MAX_RESTARTS + 1):
        argv = [python, "-m", "mmbuild.verify.stack.worker", "--package", distribution, "--device", device,
                "--seed", str(seed), "--skip", ",".join(sorted(done))]
        started = time.monotonic()
        in_flight, why = _one_worker(argv, env, deadline, results, done)
        if in_flight is None:
            if why == "exited with status 0":
                return results
            if not results:
                results.append(CheckResult(f"{distribution} stack worker", "stack", "-", "fail",
                                           message=f"the stack-check worker {why}"))
            return results
        name, dev = in_flight
        limit = f" (limit {timeout:.0f} s for the package)" if why.startswith("timed out") else ""
        results.append(CheckResult(name, "stack", dev, "fail", seconds=round(time.monotonic() - started, 3),
                                   message=f"the process running this check {why}{limit}"))
        done.add(f"{name}@{dev}")
        if why.startswith("timed out"):
            return results
    return results


def run_stack_checks(python: str = sys.executable, devices: list[str] | None = None, *,
                     seed: int = 0, timeout: float = PACKAGE_TIMEOUT_S) -> list[dict[str, Any]]:
    """The stack checks of every downstream package installed in ``python``, as check dicts
    (``name, kind="stack", device, status, seconds, message``); [] when none is installed.

    ``devices``: None or e.g. ``["cpu"]``, ``["cuda"]``; the CUDA checks are reported as skipped
    where torch has CUDA and no GPU is visible, never as passed.
    """
    choice = _device_choice(devices)
    checks: list[dict[str, Any]] = []
    for distribution, version in installed_stack(python).items():
        if model_for(distribution) is None:
            continue
        for result in check_package(python, distribution, choice, seed, timeout):
            result.data = {**(result.data or {}), "package": f"{distribution}=={version}"}
            checks.append(result.to_dict())
    return checks

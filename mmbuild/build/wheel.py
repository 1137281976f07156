"""Build the wheel: mmcv's own setup.py through pip, without build isolation, ninja doing the work.

``python -m pip wheel --no-build-isolation --no-deps -v -w <partial dir> <source>`` runs in a
new session (its own process group) with ``os.environ`` + the plan's env. Every output line
goes to the log file; ninja's ``[n/N]`` lines drive the progress report; ``verbose`` streams
the log to stderr as well.

SIGINT or SIGTERM during the build stops the whole process group (the compilers included),
removes the partial output, and raises :class:`BuildInterrupted` (exit 130 or 143). The
wheel is moved into the output folder only once pip has finished successfully.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mmbuild.build.progress import NinjaProgress
from mmbuild.errors import BuildFailedError, MmbuildError

KILL_GRACE_S = 10.0


class BuildInterrupted(MmbuildError):
    """The build was stopped by SIGINT (exit 130) or SIGTERM (exit 143)."""

    def __init__(self, signum: int):
        name = signal.Signals(signum).name
        super().__init__(f"build stopped by {name}; compilers stopped and partial output removed")
        self.exit_code = 128 + signum


@dataclass
class BuildResult:
    wheel: Path
    log: Path
    seconds: float
    returncode: int = 0


@dataclass
class FailureSummary:
    """What went wrong in a failed build log: a catalogue id when one matches, else the first error."""

    problem_id: str | None
    line: int | None
    excerpt: str
    fix: str | None
    extracted: dict


def pip_wheel_argv(python: str, source: Path, out_dir: Path) -> list[str]:
    return [python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-v",
            "--disable-pip-version-check", "-w", str(out_dir), str(source)]


@contextlib.contextmanager
def _forward_signals(proc: subprocess.Popen, received: list[int]) -> Iterator[None]:
    """While the build runs, SIGINT/SIGTERM stop its whole process group."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        received.append(signum)
        _signal_session(proc.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _session_members(session: int) -> list[int]:
    """Every process of ``session`` (Linux /proc); empty where /proc cannot tell."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session:
                members.append(int(entry.name))
    return members


def _signal_session(session: int, signum: int) -> None:
    """Signal the build's whole session: pip's process group, and the process group that ninja
    gives each compile job (a job in its own group is missed by a group kill once ninja is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signum)
    for pid in _session_members(session):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _stop_group(proc: subprocess.Popen) -> None:
    _signal_session(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        _signal_session(proc.pid, signal.SIGKILL)
        proc.wait()
    # Make sure no compiler outlives the build.
    _signal_session(proc.pid, signal.SIGKILL)


def build_wheel(source: Path, out_dir: Path, *, env: dict[str, str], log_path: Path,
                python: str = sys.executable, verbose: bool = False,
                progress: NinjaProgress | None = None) -> BuildResult:
    """Build ``source`` into a wheel in ``out_dir``; raises BuildFailedError or BuildInterrupted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / f".partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    # pip's temporary folders go inside the partial folder, so that a build stopped by a
    # signal (pip gets no chance to clean up) leaves nothing behind in the system's /tmp.
    scratch = partial / "tmp"
    scratch.mkdir()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env, "TMPDIR": str(scratch)}
    argv = pip_wheel_argv(python, source, partial)
    received: list[int] = []
    started = time.monotonic()
    progress = progress or NinjaProgress()
    try:
        with open(log_path, "w", encoding="utf-8", errors="replace") as log:
            log.write("$ " + " ".join(argv) + "\n")
            extra = " ".join(f"{k}={v}" for k, v in sorted(env.items()))
            log.write(f"# env on top of the user's: {extra}\n")
            log.flush()
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=full_env, cwd=str(source),
                                    start_new_session=True,
                                    text=True, errors="replace", bufsize=1)
            try:
                with _forward_signals(proc, received):
                    for line in proc.stdout:
                        log.write(line)
                        if verbose:
                            sys.stderr.write(line)
                        progress.feed(line)
                        if received:
                            break
                    if received:
                        _stop_group(proc)
                    returncode = proc.wait()
            except BaseException:
                _stop_group(proc)
                raise
            finally:
                progress.close()
        if received:
            raise BuildInterrupted(received[0])
        seconds = time.monotonic() - started
        wheels = sorted(partial.glob("*.whl"))
        if returncode != 0 or len(wheels) != 1:
            raise BuildFailedError(f"the build failed (exit {returncode}); full log: {log_path}")
        final = out_dir / wheels[0].name
        os.replace(wheels[0], final)
        return BuildResult(final, log_path, seconds, returncode)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def summarise_failure(text: str) -> FailureSummary:
    """The most relevant problem in a failed build's output.

    A known problem of the catalogue first; otherwise the first compiler diagnostic
    (``file:line:col: error: ...``), which says more than ninja's ``FAILED:`` line; otherwise
    the first line that looks like an error.
    """
    from mmbuild.diagnose import diagnose_text

    diagnosis = diagnose_text(text)
    if diagnosis.problems:
        top = diagnosis.problems[0]
        return FailureSummary(top.id, top.line, top.excerpt.strip(), top.fix, dict(top.extracted or {}))
    compiler_error = _first_compiler_error(text)
    if compiler_error is not None:
        return compiler_error
    if diagnosis.first_error_line:
        lines = text.splitlines()
        index = diagnosis.first_error_line - 1
        excerpt = lines[index].strip() if 0 <= index < len(lines) else ""
        return FailureSummary(None, diagnosis.first_error_line, excerpt, None, {})
    return _first_error_line(text)


_COMPILER_ERROR = re.compile(r":\d+(:\d+)?: (fatal )?error\b|\berror( [A-Z]+\d+)?: |^\s*nvcc fatal\s*:")


def _first_compiler_error(text: str) -> FailureSummary | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if _COMPILER_ERROR.search(line):
            return FailureSummary(None, number, line.strip(), None, {})
    return None


def _first_error_line(text: str) -> FailureSummary:
    markers = ("error:", "Error:", "fatal", "ERROR", "Killed", "Traceback")
    for number, line in enumerate(text.splitlines(), start=1):
        if any(m in line for m in markers):
            return FailureSummary(None, number, line.strip(), None, {})
    tail = text.strip().splitlines()[-1:] or [""]
    return FailureSummary(None, None, tail[0].strip(), None, {})


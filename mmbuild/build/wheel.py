"""Build the wheel: mmcv's own setup.py through the installer, without build isolation, ninja doing the work.

``python -m pip wheel --no-build-isolation --no-deps -v -w <partial dir> <source>`` (or, where uv
is the environment's installer, ``uv build --wheel --no-build-isolation --python <python>
--out-dir <partial dir> <source>``: the target's own setuptools and torch, as with pip) runs in a
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
from mmbuild.errors import BuildFailedError, MmbuildError, exit_code_for_signal
from mmbuild.install.installer import installer_for

__all__ = ["BuildInterrupted", "BuildResult", "build_wheel", "pip_wheel_argv"]

KILL_GRACE_S = 10.0


class BuildInterrupted(MmbuildError):
    """The build was stopped by SIGINT (exit 130) or SIGTERM (exit 143)."""

    def __init__(self, signum: int):
        name = signal.Signals(signum).name
        super().__init__(f"build stopped by {name}; compilers stopped and partial output removed")
        self.exit_code = exit_code_for_signal(signum)


@dataclass
class BuildResult:
    wheel: Path
    log: Path
    seconds: float
    returncode: int = 0


def pip_wheel_argv(python: str, source: Path, out_dir: Path) -> list[str]:
    """The build command of ``python``'s installer (install/installer.py): pip wheel or uv build."""
    return installer_for(python).wheel_argv(source, out_dir)


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

"""Running external programs without letting them hang or crash mmbuild."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass


@dataclass
class CommandResult:
    """What a program printed and how it ended; ``error`` explains a failure to run."""

    argv: list[str]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0


def run_command(argv: list[str], timeout: float = 10.0, env: dict[str, str] | None = None,
                cwd: str | None = None) -> CommandResult:
    """Run ``argv`` and capture its output; never raises for a missing, failing or hanging program."""
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", timeout=timeout,
            env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return CommandResult(argv, None, error=f"{argv[0]}: not found")
    except PermissionError:
        return CommandResult(argv, None, error=f"{argv[0]}: permission denied")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        name = os.path.basename(argv[0])
        return CommandResult(argv, None, stdout=out, error=f"{name} timed out after {timeout:g} s")
    except OSError as exc:
        return CommandResult(argv, None, error=f"{argv[0]}: {exc.strerror or exc}")
    return CommandResult(argv, proc.returncode, proc.stdout, proc.stderr)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True

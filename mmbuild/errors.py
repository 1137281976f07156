"""Typed errors, one exit code each (docs/cli.md, exit codes).

Every fatal condition the user can act on is raised as a subclass of
:class:`MmbuildError`; the CLI prints ``message`` (and ``fix``) as one short
line on stderr and exits with the class's ``exit_code``.
"""

from __future__ import annotations

import signal

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_INSTALL_FAILED = 1      # pip could not install the new wheel: no code of its own in the contract
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_BUILD_FAILED = 4
EXIT_VERIFY_FAILED = 5
EXIT_PATCH_CONFLICT = 6
EXIT_EXEC_FAILED = 127       # a program that could not be started (the shell's convention)
EXIT_SIGNAL_BASE = 128       # stopped by signal N: 128 + N, as a shell reports it
EXIT_INTERRUPTED = EXIT_SIGNAL_BASE + int(signal.SIGINT)   # Ctrl-C: 130


def exit_code_for_signal(signum: int) -> int:
    """The exit code of a run stopped by signal ``signum`` (SIGINT 130, SIGTERM 143)."""
    return EXIT_SIGNAL_BASE + signum


class MmbuildError(Exception):
    """Base class: an error with an actionable message and an exit code."""

    exit_code = EXIT_UNEXPECTED

    def __init__(self, message: str, fix: str | None = None, problem_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.problem_id = problem_id

    def one_line(self) -> str:
        """The message and the fix, as the single line the CLI prints."""
        text = self.message.rstrip(".")
        if self.problem_id:
            text = f"[{self.problem_id}] {text}"
        if self.fix:
            text = f"{text}. Fix: {self.fix}"
        return text


class UsageError(MmbuildError):
    """Bad command-line input or an unreadable input file."""

    exit_code = EXIT_USAGE


class BlockedError(MmbuildError):
    """The plan has an error-level finding: building cannot succeed."""

    exit_code = EXIT_BLOCKED


class BuildFailedError(MmbuildError):
    """The compiler or the build frontend failed."""

    exit_code = EXIT_BUILD_FAILED


class VerifyFailedError(MmbuildError):
    """The installed mmcv failed one or more checks."""

    exit_code = EXIT_VERIFY_FAILED


class PatchConflictError(MmbuildError):
    """A file to patch holds content that no patch spec recognises."""

    exit_code = EXIT_PATCH_CONFLICT

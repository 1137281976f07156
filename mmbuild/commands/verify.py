"""``mmbuild verify``: prove that the installed mmcv's kernels load, fit the devices and compute right."""

from __future__ import annotations

import argparse
import os
import sys

from mmbuild.errors import EXIT_OK, EXIT_VERIFY_FAILED, UsageError
from mmbuild.model.findings import Finding, finding
from mmbuild.util.console import emit_json, paint, render_findings, say, table
from mmbuild.verify.report import CheckResult, VerifyReport


def _findings(report: VerifyReport) -> list[Finding]:
    """One finding per catalogue problem seen in the failed checks."""
    seen: dict[str, list[str]] = {}
    for check in report.checks:
        if check.status == "fail" and check.id:
            seen.setdefault(check.id, []).append(f"{check.name} ({check.device})")
    return [finding(pid, "error", message_key="checks_failed", count=len(names), names=", ".join(names[:8]))
            for pid, names in seen.items()]


def _installed_refusals() -> list[Finding]:
    """An installed package that refuses the installed mmcv (it would stop at import)."""
    from mmbuild.plan.environment_checks import installed_mmcv_refusals
    from mmbuild.probe.collect import probe_installed_packages

    return installed_mmcv_refusals(probe_installed_packages())


def _print_human(report: VerifyReport, seed: int) -> None:
    out = sys.stderr
    mmcv = report.mmcv
    say(f"mmcv {mmcv.get('version') or '?'} at {mmcv.get('path') or '?'}; devices: "
        f"{', '.join(report.devices) or 'none'}; seed {seed} (replay with --seed {seed})")
    rows = [("status", "check", "kind", "device", "max error", "time", "message")]
    for c in report.checks:
        style = {"pass": "ok", "fail": "error", "skip": "warning"}[c.status]
        rows.append((paint(c.status.upper(), style, out), c.name, c.kind, c.device,
                     "" if c.max_error is None else f"{c.max_error:.2e}",
                     f"{c.seconds:.3f}s" if c.seconds else "",
                     (f"[{c.id}] " if c.id else "") + c.message))
    say(table(rows))
    counts = {s: sum(c.status == s for c in report.checks) for s in ("pass", "fail", "skip")}
    say(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    if report.no_cpu_kernel:
        say(f"{len(report.no_cpu_kernel)} _ext functions have no CPU kernel ({report.no_cpu_kernel_source}): "
            + ", ".join(report.no_cpu_kernel))
    for line in render_findings(report.findings, out):
        say(line)


HELP = "verify the installed mmcv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--ops", metavar="LIST", help="check only these ops")
    parser.add_argument("--seed", type=int, help="replay a run with this seed")
    parser.add_argument("--no-stack", action="store_true",
                        help="skip the downstream packages' checks (import, bounds, one model, resume)")


def run(args: argparse.Namespace) -> int:
    from mmbuild.verify.supervisor import verify

    ops = [o.strip() for o in (args.ops or "").split(",") if o.strip()]
    if ops:  # the checks import torch: this process does so only to name an unknown op
        from mmbuild.verify.opchecks import select_checks

        try:
            select_checks(ops)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
    report = verify(args.device, ops, seed)
    if not args.no_stack:
        from mmbuild.verify.stack import run_stack_checks

        devices = None if args.device == "all" else [args.device]
        stack = run_stack_checks(sys.executable, devices, seed=seed)
        report.checks += [CheckResult.from_dict(c) for c in stack]
    report.findings = _findings(report) + _installed_refusals()
    if args.json:
        emit_json({**report.to_dict(), "seed": seed})
    else:
        _print_human(report, seed)
    return EXIT_OK if report.ok else EXIT_VERIFY_FAILED

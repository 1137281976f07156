"""Install mmcv on a node from a shared wheelhouse, never compiling; print a JSON report.

Run with the node's target Python (the one with torch and mmbuild installed):

    python node_install.py --wheelhouse /shared/wheelhouse [--report FILE] [--save-env DIR]

The wheels in the wheelhouse carry their build metadata (``mmcv/_mmbuild.json``). Which
wheel serves this node is mmbuild's own rule (``mmbuild/wheels/choose.py``, the one
``mmbuild install --wheelhouse`` uses, on the fit check of ``mmbuild/wheels/fit.py``
that fleet plans and ``mmbuild verify`` use). Of the fitting wheels the newest build is installed
with mmbuild's installer (torch pinned, the previous mmcv restored on failure), then
``mmbuild verify`` runs.

Exit codes (docs/cli.md): 0 ok, 1 unexpected or install failure, 2 bad input (no
wheelhouse), 3 no wheel fits this node (the report says why each was rejected),
5 verify failed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from mmbuild.wheels.choose import choose_wheel, wheelhouse_candidates
from mmbuild.wheels.fit import NodeFacts

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_WHEEL, EXIT_VERIFY = 0, 1, 2, 3, 5


def _verify(python: str) -> dict:
    from mmbuild.util.process import run_command

    result = run_command([python, "-m", "mmbuild", "verify", "--json"], timeout=1800)
    try:
        document = json.loads(result.stdout)
    except ValueError:
        document = {"ok": False, "message": (result.stdout + result.stderr).strip()[-500:]}
    document.setdefault("ok", result.ok)
    return document


def run(args: argparse.Namespace, report: dict) -> int:
    from mmbuild.probe import probe_environment

    folder = Path(args.wheelhouse)
    if not folder.is_dir():
        report["error"] = f"wheelhouse {folder} does not exist"
        return EXIT_USAGE
    env = probe_environment()
    if args.save_env:
        Path(args.save_env).mkdir(parents=True, exist_ok=True)
        saved = Path(args.save_env) / f"{socket.gethostname()}.json"
        saved.write_text(env.to_json(), encoding="utf-8")
        report["saved_env"] = str(saved)
    node = NodeFacts.from_environment(env)
    report["node"] = node.__dict__
    candidates = wheelhouse_candidates(folder)
    choice = choose_wheel(candidates, node)
    report["rejected"] = choice.rejected
    if choice.wheel is None:
        report["error"] = (f"no wheel in {folder} fits this node ({len(candidates)} found); "
                           "build one for it with build-node.sh")
        return EXIT_NO_WHEEL
    wheel, meta = choice.wheel, choice.meta
    report["wheel"] = str(wheel)
    report["why"] = choice.why
    report["built_for"] = {k: meta.get(k) for k in ("fingerprint", "version", "target", "arch_list", "ops")}
    from mmbuild.errors import MmbuildError
    from mmbuild.install.wheel import install_wheel

    with tempfile.TemporaryDirectory(prefix="mmbuild-node-") as work:
        try:
            report["install"] = install_wheel(wheel, work_dir=Path(work), torch_version=node.torch,
                                              python=sys.executable).__dict__
        except MmbuildError as exc:
            report["error"] = exc.one_line()
            return exc.exit_code
    if args.no_verify:
        return EXIT_OK
    report["verify"] = _verify(sys.executable)
    if not report["verify"].get("ok"):
        report["error"] = "the installed mmcv failed verification"
        return EXIT_VERIFY
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheelhouse", default=os.environ.get("MMBUILD_WHEELHOUSE"),
                        help="the shared wheelhouse folder (default: $MMBUILD_WHEELHOUSE)")
    parser.add_argument("--report", help="also write the JSON report to this file")
    parser.add_argument("--save-env", metavar="DIR",
                        help="save this node's 'mmbuild env' report as DIR/<hostname>.json")
    parser.add_argument("--no-verify", action="store_true", help="skip 'mmbuild verify'")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    if not args.wheelhouse:
        print("node-install: error: --wheelhouse DIR is required (or set MMBUILD_WHEELHOUSE)",
              file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    report: dict = {"script": "node-install", "host": socket.gethostname(), "wheelhouse": args.wheelhouse}
    try:
        code = run(args, report)
    except Exception as exc:  # noqa: BLE001 - the report must still be written
        report["error"] = f"unexpected error: {type(exc).__name__}: {exc}"
        code = EXIT_FAILED
    report.update(ok=code == EXIT_OK, exit_code=code, seconds=round(time.monotonic() - started, 1))
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n", encoding="utf-8")
    if report.get("error"):
        print(f"node-install: error: {report['error']}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

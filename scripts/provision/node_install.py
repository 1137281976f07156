"""Install mmcv on a node from a shared wheelhouse, never compiling; print a JSON report.

Run with the node's target Python (the one with torch and mmbuild installed):

    python node_install.py --wheelhouse /shared/wheelhouse [--report FILE] [--save-env DIR]

The wheels in the wheelhouse carry their build metadata (``mmcv/_mmbuild.json``). Whether
a wheel fits this node is mmbuild's own check (``mmbuild/wheels/fit.py``, the one fleet
plans and ``mmbuild verify`` use). Of the fitting wheels the newest build is installed
with mmbuild's installer (torch pinned, the previous mmcv restored on failure), then
``mmbuild verify`` runs.

Exit codes (DESIGN.md): 0 ok, 1 unexpected or install failure, 2 bad input (no
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

from mmbuild.wheels.fit import NodeFacts, rejection_reasons

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_WHEEL, EXIT_VERIFY = 0, 1, 2, 3, 5


def choose_wheel(candidates: list[tuple[Path, dict | None]], node: NodeFacts
                 ) -> tuple[tuple[Path, dict] | None, list[dict]]:
    """The newest fitting (wheel, metadata), and the rejected wheels with their reasons."""
    fitting, rejected = [], []
    for wheel, meta in candidates:
        reasons = ["no mmbuild metadata in the wheel"] if meta is None else rejection_reasons(meta, node)
        if reasons:
            rejected.append({"wheel": wheel.name, "reasons": reasons})
        else:
            fitting.append((wheel, meta))
    fitting.sort(key=lambda item: str(item[1].get("built_at", "")), reverse=True)
    return (fitting[0] if fitting else None), rejected


def wheelhouse_wheels(folder: Path) -> list[Path]:
    """Every mmcv wheel in the wheelhouse (flat, or in the per-fingerprint sub-folders)."""
    return sorted(p for p in folder.rglob("mmcv*.whl") if p.is_file())


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
    from mmbuild.wheels.metadata import read_wheel_metadata

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
    candidates = [(wheel, read_wheel_metadata(wheel)) for wheel in wheelhouse_wheels(folder)]
    chosen, rejected = choose_wheel(candidates, node)
    report["rejected"] = rejected
    if chosen is None:
        report["error"] = (f"no wheel in {folder} fits this node ({len(candidates)} found); "
                           "build one for it with build-node.sh")
        return EXIT_NO_WHEEL
    wheel, meta = chosen
    report["wheel"] = str(wheel)
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

"""Record every command's JSON and exit code on the saved environment reports, for a before/after.

    python scripts/snapshot/cli_snapshot.py OUT_DIR [--repo CHECKOUT] [--python PYTHON]

Runs ``python -m mmbuild`` from CHECKOUT (default: this one) over the cases below and writes one
``<case>.json`` per case: ``{"argv": [...], "rc": N, "stdout": <parsed JSON or text>}``, with what
changes from run to run (timings, temporary paths, free memory) replaced by placeholders. Compare two
snapshots with ``diff -r BEFORE AFTER``, or ``--compare BEFORE AFTER`` for a per-case summary.

The cases: ``plan --from-env`` for every report under tests/fixtures/envs with several option sets, a
fleet, the pipeline's ``--dry-run`` on saved reports, bad input, ``diagnose`` on every log fixture, and
``env``/``cache``/``plan`` on this machine. Nothing is built or installed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
VARIANTS = {
    "default": [],
    "cpu-only": ["--cpu-only"],
    "arch-8.6": ["--arch", "8.6"],
    "ops": ["--ops", "nms,roi_align"],
    "mmcv-full": ["--mmcv", "mmcv-full==1.7.2"],
    "debug-no-pch": ["--debug-symbols", "--no-pch", "--jobs", "3"],
}
# Keys whose values differ between two runs of the same command on the same machine.
VOLATILE_KEYS = {"seconds", "free_gib", "available_gib", "available_mib", "load_average", "elapsed",
                 "started", "log"}


def cases(repo: Path) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    envs = sorted((repo / "tests" / "fixtures" / "envs").glob("*.json"))
    for env in envs:
        for name, extra in VARIANTS.items():
            yield f"plan--{env.stem}--{name}", ["plan", "--json", "--from-env", str(env), *extra], {}
    for first, second in [(envs[0], envs[1]), (envs[2], envs[3])]:
        yield (f"plan-fleet--{first.stem}--{second.stem}",
               ["plan", "--json", "--from-env", str(first), "--from-env", str(second)], {})
    for env in envs[::4]:
        yield f"install-dry--{env.stem}", ["install", "--dry-run", "--json", "--from-env", str(env)], {}
    yield "install-dry--here", ["install", "--dry-run", "--json"], {}
    yield "install-dry--here-ops", ["install", "--dry-run", "--json", "--ops", "nms", "--no-pch"], {}
    yield "plan--here", ["plan", "--json"], {}
    yield "plan--here-stack", ["plan", "--json", "mmdet==3.3.0"], {}
    for name, argv in {
        "bad-arch": ["plan", "--json", "--arch", "99.9"],
        "bad-mmcv": ["plan", "--json", "--mmcv", "9.9.9"],
        "bad-cuda-home": ["plan", "--json", "--cuda-home", "/nonexistent"],
        "bad-ops": ["plan", "--json", "--ops", "no_such_op"],
        "bad-option": ["plan", "--json", "--no-such-option"],
        "bad-from-env": ["plan", "--json", "--from-env", "/nonexistent.json"],
        "bad-requirement": ["plan", "--json", "requests"],
        "build-no-out": ["build", "--json"],
        "diagnose-missing": ["diagnose", "--json", "/nonexistent.log"],
    }.items():
        yield f"bad--{name}", argv, {}
    for log in sorted(p for p in (repo / "tests" / "fixtures" / "logs").rglob("*") if p.is_file()):
        if log.name == "README.md":
            continue
        rel = log.relative_to(repo / "tests" / "fixtures" / "logs")
        yield f"diagnose--{str(rel).replace('/', '--')}", ["diagnose", "--json", str(log)], {}
    yield "env--here", ["env", "--json"], {}
    yield "cache--empty", ["cache", "--json"], {"MMBUILD_CACHE_DIR": "{tmp}"}
    yield "cache--prune-all", ["cache", "--json", "prune", "--all"], {"MMBUILD_CACHE_DIR": "{tmp}"}


def normalise(value, tmp: str):
    if isinstance(value, dict):
        return {k: ("<volatile>" if k in VOLATILE_KEYS else normalise(v, tmp)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, tmp) for v in value]
    if isinstance(value, str):
        value = value.replace(tmp, "<tmp>")
        value = re.sub(r"MAX_JOBS=\d+|\b\d+ jobs\b", "<jobs>", value)
        return re.sub(r"\d+(\.\d+)? GiB", "<gib>", value)
    return value


def run_case(python: str, repo: Path, argv: list[str], extra_env: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="mmbuild-snapshot-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(repo), "NO_COLOR": "1",
               **{k: v.replace("{tmp}", tmp) for k, v in extra_env.items()}}
        done = subprocess.run([python, "-m", "mmbuild", *argv], capture_output=True, text=True, env=env,
                              cwd=tmp, timeout=600)
        try:
            stdout = json.loads(done.stdout)
        except ValueError:
            stdout = done.stdout
        stderr_last = done.stderr.strip().splitlines()[-1:]
        shown = [repr(a).replace(str(repo), "<repo>") for a in argv]
        return {"argv": shown, "rc": done.returncode, "stdout": normalise(stdout, tmp),
                "stderr_last": normalise(stderr_last, tmp) if done.returncode else []}


def snapshot(out: Path, repo: Path, python: str, jobs: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    todo = list(cases(repo))

    def one(case):
        name, argv, extra = case
        record = run_case(python, repo, argv, extra)
        text = json.dumps(record, indent=1, sort_keys=True)
        text = text.replace(str(Path(python).parents[1]), "<venv>").replace(str(repo), "<repo>")
        (out / f"{name}.json").write_text(text + "\n")
        return name, record["rc"]

    with ThreadPoolExecutor(jobs) as pool:
        for name, rc in pool.map(one, todo):
            print(f"{rc:3d} {name}", flush=True)
    print(f"{len(todo)} cases in {out}")


def compare(before: Path, after: Path) -> int:
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    changed = [n for n in names if not (before / n).is_file() or not (after / n).is_file()
               or (before / n).read_text() != (after / n).read_text()]
    for name in changed:
        print(f"changed: {name}")
    print(f"{len(names)} cases, {len(changed)} changed")
    return 1 if changed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--repo", type=Path, default=HERE)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give OUT_DIR or --compare BEFORE AFTER")
    snapshot(args.out, args.repo.resolve(), args.python, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

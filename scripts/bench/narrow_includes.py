"""Narrow torch includes, unit by unit: each mmcv ``.cu`` unit compiled as it is and narrowed.

    python scripts/bench/narrow_includes.py --python /path/to/cuda-venv/bin/python \
        --source ~/.cache/mmbuild/sdists/mmcv-2.2.0.tar.gz --out narrow-2.2.0 --jobs 2

Extracts the source, applies the transform the build applies (``mmbuild/build/narrow_includes.py``)
and compiles every ``.cu`` unit for one arch, with the flags of ``cuda_units.py`` (torch's extension
flags for a ``.cu`` file): once as it is (the original unit) and once with its narrow header in
front (``-include``, as the build's wrapper does), where the transform narrowed it. Records each
compile's CPU-seconds (user + sys of nvcc and the processes it waited for), wall time and peak
RSS, whether the narrow compile worked (the build's wrapper would fall back where not), and
whether the two objects define the same external symbols (``nm --defined-only --extern-only``: the
strong ones must agree; the weak ones, inline functions and template instances the linker keeps
once from whichever unit emits them, are counted). Writes ``narrow_includes.jsonl`` as it goes
(one line a unit), then ``narrow_includes.json`` and ``narrow_includes.md``. ``--units a.cu,b.cu``
limits the units.

``--cxx`` measures the C++ units instead (``.cpp``, with a CPU or CUDA torch): each one as it is,
with the precompiled header the build makes (``build/pch.py``: GCC finds it by itself for the units
that start with mmcv's helper, the others get it with ``-include``), and narrowed the same way as the
``.cu`` units. The ``.gch`` is built once, from the first unit's flags, and its time is reported;
the units compile one at a time (the variants without it hide the tree's one ``.gch``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cuda_units import _argv, _source_tree  # noqa: E402

from mmbuild.build.narrow_includes import CSRC, UNITS, narrow_header_of, narrow_tree  # noqa: E402
from mmbuild.build.pch import forced_include, pch_build_args, prepare_pch, starts_with_helper  # noqa: E402
from mmbuild.build.preflight import torch_build_info  # noqa: E402
from mmbuild.probe.nvidia_wheels import nvidia_wheel_paths  # noqa: E402

_RUN = ("import os, resource, subprocess, sys, time, json; t = time.monotonic(); "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(json.dumps([time.monotonic() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, p.returncode, "
        "p.stderr[-4000:]]))")


def compile_unit(argv: list[str], env: dict[str, str]) -> dict:
    """One compile in a child Python: wall s, CPU s, peak RSS MiB, rc, the end of its errors."""
    out = subprocess.run([sys.executable, "-c", _RUN, *argv], env=env, capture_output=True, text=True)
    wall, cpu, maxrss_kib, rc, errors = json.loads(out.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mib": maxrss_kib // 1024, "rc": rc,
            "errors": errors if rc else ""}


def external_symbols(obj: Path) -> tuple[set[str], set[str]]:
    """The object's strong external definitions, and its weak ones (inline functions and template
    instances, which the linker keeps once whichever unit emits them)."""
    out = subprocess.run(["nm", "--defined-only", "--extern-only", str(obj)], capture_output=True, text=True)
    strong, weak = set(), set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            (weak if parts[-2] in ("W", "V", "u") else strong).add(parts[-1])
    return strong, weak


def measure(unit: Path, narrowed: bool, args, tree: Path, scratch: Path, info, env) -> dict:
    name = unit.relative_to(tree / CSRC).as_posix()
    row: dict = {"unit": name, "narrowed": narrowed}
    objects = {}
    for variant in ("full", "narrow") if narrowed else ("full",):
        obj = scratch / f"{unit.stem}.{variant}.o"
        argv = _argv(args.nvcc, unit, tree, [args.arch], 1, scratch / f"{unit.stem}.{variant}.csv", info)
        argv[argv.index(os.devnull)] = str(obj)
        if variant == "narrow":
            argv += ["-include", str(narrow_header_of(unit))]
        row[variant] = compile_unit(argv, env)
        objects[variant] = obj
    if narrowed and row["narrow"]["rc"] == 0 and row["full"]["rc"] == 0:
        (full, full_weak), (narrow, narrow_weak) = (external_symbols(objects[v]) for v in ("full", "narrow"))
        row["symbols"] = len(full)
        row["same_symbols"] = full == narrow
        row["symbol_diff"] = sorted(full ^ narrow)[:10]
        row["weak_only_full"] = len(full_weak - narrow_weak)
        row["weak_only_narrow"] = len(narrow_weak - full_weak)
    for obj in objects.values():
        obj.unlink(missing_ok=True)
    return row


CXX_FLAGS = ["-Wsign-compare", "-DNDEBUG", "-fwrapv", "-O3", "-Wall", "-g0", "-fPIC", "-std=c++20",
             "-DTORCH_API_INCLUDE_EXTENSION_H", "-DTORCH_EXTENSION_NAME=_ext"]


def cxx_argv(unit: Path, tree: Path, info, obj: Path) -> list[str]:
    """A C++ unit's command as torch's extension builder gives it (mmbuild's -g0 and C++ standard)."""
    csrc = tree / CSRC
    folders = (csrc / "pytorch", csrc / "common", *info.include_dirs, info.python_include)
    includes = [f"-I{d}" for d in folders]
    return ["g++", "-c", str(unit), "-o", str(obj), *CXX_FLAGS, *includes,
            f"-D_GLIBCXX_USE_CXX11_ABI={info.cxx11_abi}"]


def build_gch(tree: Path, info, scratch: Path, env: dict[str, str]) -> dict:
    files = prepare_pch(tree)
    assert files is not None, "no mmcv helpers in the tree"
    args = cxx_argv(files.source, tree, info, scratch / "unused.o")[1:]
    result = compile_unit(["g++", *pch_build_args(args, files, files.output)], env)
    assert result["rc"] == 0, result["errors"]
    return {**result, "gch_mib": round(files.output.stat().st_size / 2**20)}


def measure_cxx(unit: Path, narrowed: bool, tree: Path, scratch: Path, info, env) -> dict:
    name = unit.relative_to(tree / CSRC).as_posix()
    row: dict = {"unit": name, "narrowed": narrowed, "starts_with_helper": starts_with_helper(unit)}
    files = prepare_pch(tree)
    forced = [] if row["starts_with_helper"] else forced_include(files)
    variants = {"full": [], "pch": ["-Winvalid-pch", *forced]}
    if narrowed:
        variants["narrow"] = ["-include", str(narrow_header_of(unit))]
    gch = files.output
    for variant, extra in variants.items():
        obj = scratch / f"{unit.stem}.{variant}.o"
        hidden = gch.with_name(gch.name + ".off")
        if variant != "pch":
            gch.rename(hidden)              # GCC would find it by itself
        try:
            row[variant] = compile_unit([*cxx_argv(unit, tree, info, obj), *extra], env)
        finally:
            if variant != "pch":
                hidden.rename(gch)
        if row[variant]["rc"] == 0:
            strong = external_symbols(obj)[0]
            if variant == "full":
                row["symbols"] = len(full_strong := strong)
            else:
                row[f"same_symbols_{variant}"] = strong == full_strong
        obj.unlink(missing_ok=True)
    row["same_symbols"] = all(v for k, v in row.items() if k.startswith("same_symbols_"))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="a venv's python with a CUDA build of torch")
    parser.add_argument("--source", required=True, type=Path, help="mmcv sdist or extracted tree")
    parser.add_argument("--nvcc", default="/usr/local/cuda/bin/nvcc")
    parser.add_argument("--arch", default="90")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--units", default="", help="comma-separated unit file names (default: all .cu)")
    parser.add_argument("--out", type=Path, default=Path("narrow-includes"))
    parser.add_argument("--cxx", action="store_true", help="measure the C++ units (full, pch, narrow)")
    args = parser.parse_args()
    if args.cxx:
        args.jobs = 1            # the non-pch variants hide the one .gch of the tree while they compile
    args.out.mkdir(parents=True, exist_ok=True)
    info = torch_build_info(args.python)
    site = subprocess.run([args.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "CPATH": os.pathsep.join(str(p) for p in nvidia_wheel_paths(site, "include"))}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        tree = _source_tree(args.source.expanduser(), scratch / "src")
        suffix = ".cpp" if args.cxx else ".cu"
        report = narrow_tree(tree, Path(info.include_dirs[0]), suffixes=(suffix,))
        print(report.summary(), flush=True)
        wanted = set(filter(None, args.units.split(",")))
        units = sorted(p for p in (tree / CSRC / UNITS).rglob(f"*{suffix}")
                       if "mlu" not in p.parts and "mps" not in p.parts and "npu" not in p.parts
                       and (not wanted or p.name in wanted))
        gch = build_gch(tree, info, scratch, env) if args.cxx else None
        if gch:
            print(f"precompiled header: {gch['cpu_s']} CPU-s, {gch['gch_mib']} MiB", flush=True)
        rows: list[dict] = []
        with open(args.out / "narrow_includes.jsonl", "w", encoding="utf-8") as lines, \
                ThreadPoolExecutor(args.jobs) as pool:
            def one(unit: Path) -> dict:
                name = unit.relative_to(tree / CSRC).as_posix()
                if args.cxx:
                    return measure_cxx(unit, name in report.narrowed, tree, scratch, info, env)
                return measure(unit, name in report.narrowed, args, tree, scratch, info, env)

            for row in pool.map(one, units):
                row["ops"] = report.narrowed.get(row["unit"], [])
                row["left_because"] = report.left.get(row["unit"], "")
                rows.append(row)
                lines.write(json.dumps(row) + "\n")
                lines.flush()
                print(_line(row), flush=True)
    result = {"source": str(args.source), "arch": args.arch, "jobs": args.jobs, "python": args.python,
              "wall_s": round(time.monotonic() - started, 1), "units": rows, "gch": gch}
    table = markdown_cxx(rows, gch) if args.cxx else markdown(rows)
    (args.out / "narrow_includes.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    (args.out / "narrow_includes.md").write_text(table, encoding="utf-8")
    print(table.splitlines()[-1])
    return 0 if all(r["full"]["rc"] == 0 for r in rows) else 1


def markdown_cxx(rows: list[dict], gch: dict | None) -> str:
    lines = ["| unit | starts with the helper | full CPU-s | pch CPU-s | narrow CPU-s | same strong symbols "
             "|",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    totals = {"full": 0.0, "pch": 0.0, "narrow": 0.0}
    for row in rows:
        cells = []
        for variant in totals:
            result = row.get(variant)
            works = result is not None and result["rc"] == 0
            cells.append(f"{result['cpu_s']:.1f}" if works else ("fails" if result else "-"))
            # As the build would run it: narrow falls back to full where it fails or is not narrowed.
            taken = result["cpu_s"] if works else row["full"]["cpu_s"] + (result["cpu_s"] if result else 0.0)
            totals[variant] += taken
        lines.append(f"| {row['unit']} | {row['starts_with_helper']} | " + " | ".join(cells)
                     + f" | {row.get('same_symbols')} |")
    pch_cost = gch["cpu_s"] if gch else 0.0
    lines.append(f"\n{len(rows)} C++ units, as the build would compile them: full {totals['full']:.0f} CPU-s;"
                 " "
                 f"precompiled header {totals['pch']:.0f} CPU-s + {pch_cost:.0f} CPU-s for the .gch; "
                 f"narrow (full where not narrowed or failing) {totals['narrow']:.0f} CPU-s")
    return "\n".join(lines) + "\n"


def _line(row: dict) -> str:
    full = row["full"]
    text = f"{row['unit']:42} full {full['cpu_s']:7.1f} CPU-s"
    if row.get("pch"):
        text += f"  pch {row['pch']['cpu_s']:7.1f} CPU-s rc={row['pch']['rc']}"
    if row["narrowed"]:
        narrow = row["narrow"]
        text += (f"  narrow {narrow['cpu_s']:7.1f} CPU-s rc={narrow['rc']}"
                 f"  same symbols: {row.get('same_symbols')}")
    return text


def markdown(rows: list[dict]) -> str:
    lines = ["| unit | full CPU-s | narrow CPU-s | ratio | full / narrow peak MiB | narrow compiles | "
             "same strong external symbols | weak only full / only narrow |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |"]
    full_total = narrow_total = 0.0
    for row in rows:
        full = row["full"]
        narrow = row.get("narrow")
        works = narrow is not None and narrow["rc"] == 0
        taken = narrow["cpu_s"] if works else full["cpu_s"]
        full_total += full["cpu_s"]
        narrow_total += taken + (narrow["cpu_s"] if narrow is not None and not works else 0.0)
        if narrow is None:
            lines.append(f"| {row['unit']} | {full['cpu_s']:.1f} | - | - | {full['peak_rss_mib']} | "
                         f"left: {row.get('left_because', '')} | - | - |")
            continue
        memory = f"{full['peak_rss_mib']} / {narrow['peak_rss_mib']}"
        lines.append(f"| {row['unit']} | {full['cpu_s']:.1f} | {narrow['cpu_s']:.1f} | "
                     f"{narrow['cpu_s'] / full['cpu_s']:.2f} | {memory} | "
                     f"{'yes' if works else 'no (falls back)'} | {row.get('same_symbols', '-')} | "
                     f"{row.get('weak_only_full', '-')} / {row.get('weak_only_narrow', '-')} |")
    narrowed = [r for r in rows if r.get("narrow")]
    ok = [r for r in narrowed if r["narrow"]["rc"] == 0]
    same = [r for r in ok if r.get("same_symbols")]
    ratio = narrow_total / full_total if full_total else 0.0
    lines.append(f"\n{len(rows)} units, {len(narrowed)} narrowed, {len(ok)} compile narrow, {len(same)} "
                 "with the same strong external symbols; all units as built (narrow, or full after a failed "
                 "narrow try): "
                 f"{narrow_total:.0f} CPU-s against {full_total:.0f} CPU-s full = {ratio:.2f}x")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

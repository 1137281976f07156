"""Where the time of one mmcv CUDA unit goes: nvcc's phases per arch, threads, and peak memory.

    python scripts/bench/cuda_units.py --python /path/to/cuda-venv/bin/python \
        --source ~/.cache/mmbuild/sdists/mmcv-2.2.0.tar.gz --out cuda-units

Compiles each unit (``-c``, as torch's extension builder does, with the include dirs and flags it
gives a ``.cu`` file, ``-std=c++20``, ``-O3``-free like mmcv's setup.py) for one arch and for five,
with ``--threads 1`` and ``--threads 0`` (one thread per arch), and records wall time, nvcc's own
per-phase times (``--time``: host preprocessing and compile, cicc and ptxas per arch, fatbinary)
and the peak RSS of the largest process (``getrusage`` of a child that runs nvcc). Writes
``cuda_units.json`` and ``cuda_units.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from mmbuild.build.preflight import torch_build_info  # noqa: E402
from mmbuild.probe.nvidia_wheels import nvidia_wheel_paths  # noqa: E402

UNITS = ["nms_cuda.cu", "roi_align_cuda.cu", "deform_conv_cuda.cu"]
ARCH_SETS = {"1 arch (9.0)": ["90"], "5 arches (7.5-12.0)": ["75", "80", "86", "90", "120"]}
THREADS = [1, 0]


def _source_tree(source: Path, scratch: Path) -> Path:
    if source.is_dir():
        return source
    with tarfile.open(source) as archive:
        archive.extractall(scratch, filter="data")
    return next(p for p in scratch.iterdir() if (p / "setup.py").exists())


def _argv(nvcc: str, unit: Path, tree: Path, arches: list[str], threads: int, timing: Path,
          info) -> list[str]:
    csrc = tree / "mmcv" / "ops" / "csrc"
    includes = [f"-I{d}" for d in (csrc / "pytorch", csrc / "common", csrc / "common" / "cuda",
                                   *info.cuda_include_dirs, info.python_include)]
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in arches]
    return [nvcc, "-c", str(unit), "-o", os.devnull, *includes, "-DMMCV_WITH_CUDA", *info.nvcc_flags,
            "--compiler-options", "'-fPIC'", *gencode, "-DTHREADS_PER_BLOCK=512", "-std=c++20",
            f"-D_GLIBCXX_USE_CXX11_ABI={info.cxx11_abi}", "-DTORCH_API_INCLUDE_EXTENSION_H",
            "-DTORCH_EXTENSION_NAME=_ext", "--threads", str(threads), "--time", str(timing)]


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (MiB) of the largest process, return code; nvcc runs in a child."""
    probe = ("import resource, subprocess, sys, time, json; t = time.monotonic(); "
             "rc = subprocess.call(sys.argv[1:]); "
             "print(json.dumps([time.monotonic() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc]))")
    out = subprocess.run([sys.executable, "-c", probe, *argv], env=env, capture_output=True, text=True)
    seconds, maxrss_kib, rc = json.loads(out.stdout.strip().splitlines()[-1])
    if rc != 0:
        sys.stderr.write(out.stderr[-3000:])
    return seconds, maxrss_kib // 1024, rc


def _phases(timing: Path) -> dict[str, float]:
    """nvcc --time CSV -> milliseconds per phase name (arch-specific phases keep their arch)."""
    totals: dict[str, float] = defaultdict(float)
    # Columns: source file, phase name, inputs, output, arch, tool, metric, unit (ms).
    with timing.open(newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 8 or row[7].strip() != "ms":
                continue
            phase, arch = row[1].strip(), row[4].strip()
            totals[f"{phase} [{arch}]" if arch else phase] += float(row[6])
    return dict(totals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="a venv's python with a CUDA build of torch")
    parser.add_argument("--source", required=True, type=Path, help="mmcv sdist or extracted tree")
    parser.add_argument("--nvcc", default=shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc")
    parser.add_argument("--units", default=",".join(UNITS))
    parser.add_argument("--out", type=Path, default=Path("cuda-units"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    info = torch_build_info(args.python)
    site = subprocess.run([args.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    cpath = os.pathsep.join(str(p) for p in nvidia_wheel_paths(site, "include"))
    env = {**os.environ, "CPATH": cpath}
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        tree = _source_tree(args.source.expanduser(), Path(scratch))
        for name in args.units.split(","):
            unit = tree / "mmcv" / "ops" / "csrc" / "pytorch" / "cuda" / name
            for label, arches in ARCH_SETS.items():
                for threads in THREADS:
                    timing = Path(scratch) / f"time-{name}-{len(arches)}-{threads}.csv"
                    seconds, rss, rc = _run(_argv(args.nvcc, unit, tree, arches, threads, timing, info), env)
                    phases = _phases(timing) if timing.exists() else {}
                    results.append({"unit": name, "arches": label, "threads": threads, "seconds": seconds,
                                    "peak_rss_mib": rss, "rc": rc, "phases_ms": phases})
                    print(f"{name:24} {label:22} threads={threads}  {seconds:7.1f} s  {rss:6} MiB  rc={rc}",
                          flush=True)
    (args.out / "cuda_units.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (args.out / "cuda_units.md").write_text(_markdown(results), encoding="utf-8")
    return 0 if all(r["rc"] == 0 for r in results) else 1


def _markdown(results: list[dict]) -> str:
    lines = ["| unit | arches | --threads | wall s | peak RSS MiB | host s | cicc s | ptxas s | other s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        host = cicc = ptxas = other = 0.0
        for phase, ms in r["phases_ms"].items():
            if phase.startswith("nvcc") or phase.startswith("total"):
                continue
            if phase.startswith("gcc") or phase.startswith("cudafe"):
                host += ms
            elif phase.startswith("cicc"):
                cicc += ms
            elif phase.startswith("ptxas"):
                ptxas += ms
            else:
                other += ms
        lines.append(f"| {r['unit']} | {r['arches']} | {r['threads']} | {r['seconds']:.1f} "
                     f"| {r['peak_rss_mib']} | {host / 1000:.1f} | {cicc / 1000:.1f} | {ptxas / 1000:.1f} "
                     f"| {other / 1000:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

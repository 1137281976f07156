"""Benchmark mmbuild against the stock install on this machine; write JSON and a Markdown table.

Run it with a Python that has mmbuild importable (the repository's venv):

    python scripts/bench/bench.py --out bench-results            # everything (~1 h on 2 cores)
    python scripts/bench/bench.py --quick --jobs 1 --out quick    # env, a 5-op subset build, verify

Measurements (``--only`` picks some; each runs in a child whose peak memory is read from
``getrusage(RUSAGE_CHILDREN).ru_maxrss``: the largest single process, e.g. one compiler; and the
machine's memory the step held at once, from MemAvailable sampled twice a second):

  stock      ``pip install --no-build-isolation --no-cache-dir mmcv==X`` in a fresh venv with
             setuptools<82 (the only stock path that works today), no compiler cache
  cold       ``mmbuild install --source SDIST`` with an empty wheel cache and an empty ccache
             (precompiled torch headers on, the default)
  cold_no_pch  the same with ``--no-pch``, its own empty caches: what the precompiled header
             saves, and the same exported symbols (``nm -D --defined-only`` of ``_ext``)
  cache_hit  the same command again: the wheel comes from the cache (median of --repeat)
  verify     ``mmbuild verify --json`` (median of --repeat)
  rebuild    a one-define change with the warm compiler cache: on CPU a ``#define`` appended to
             one header of the source (a new source, so a new fingerprint), on CUDA
             ``--threads-per-block 256``
  subset     ``mmbuild install --ops`` with 5 ops, empty caches
  env        ``mmbuild env --json`` (median of --repeat)

Where the exported symbols come from (only with ``--only``): every build's list goes to
``logs/<step>-<n>.exports.txt`` and the report counts, pair by pair, the symbols only one of the two
defines, by nm's type (``export_differences``):

  stock_cxx20    the stock step with mmcv's setup.py asking for ``-std=c++20`` instead of its
                 hard-coded ``-std=c++17`` (torch 2.12 and newer want C++20; mmbuild builds with it)
  cold_no_unity  ``cold`` with ``--no-unity``: every C++ unit on its own, with the precompiled header

The CUDA tier (only with ``--only``, and ``--cuda-python``: a venv with a CUDA torch and mmbuild,
nvcc on the machine; no GPU needed to build):

  cuda_stock          the stock CUDA path in that venv: ``pip install --no-build-isolation mmcv==X`` with
                      FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST=--cuda-arch, setuptools<82 and the CUDA library
                      headers of torch's NVIDIA wheels on CPATH
  cuda_cold           ``mmbuild install --arch A`` (every op) with empty caches
  cuda_subset         ``mmbuild install --arch A --ops O`` with empty caches (precompiled header on)
  cuda_subset_no_pch  the same with ``--no-pch``; both record the exported symbols

``--rounds N`` alternates stock and cold (and cuda_stock and cuda_cold) N times: stock, cold, stock,
cold. The table gives each measurement's median, its spread (fastest-slowest run) and its median
CPU-seconds (user + system of every process of the step), so a drift of the machine's speed shows
instead of hiding in a ratio. Every mmbuild step runs in its own venv under --work (torch pinned to
--torch), never in the bench's own environment. Ratios are against the stock path; the report checks
the targets (scripts/bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))   # mmbuild from this checkout, whichever Python runs the bench

# imported here, so that a Python without mmbuild's dependencies stops at once, not after the stock step
from mmbuild.source.sdist import download_sdist  # noqa: E402

STEPS = ("env", "stock", "cold", "cache_hit", "verify", "rebuild", "subset", "cold_no_pch")
CUDA_STEPS = ("cuda_stock", "cuda_cold", "cuda_subset", "cuda_subset_no_pch")
EXPORT_STEPS = ("stock_cxx20", "cold_no_unity")
ALL_STEPS = STEPS + EXPORT_STEPS + CUDA_STEPS
# The builds whose exported symbols the report compares, each pair changing one thing: the C++
# standard, mmbuild's build of the same standard, the precompiled header, unity units; then mmbuild's
# default build against the stock one.
EXPORT_PAIRS = (("stock", "stock_cxx20"), ("stock_cxx20", "cold_no_pch"), ("cold_no_pch", "cold_no_unity"),
                ("cold_no_unity", "cold"), ("stock", "cold"), ("cuda_stock", "cuda_cold"))
# Steps whose runs alternate with --rounds N (stock, cold, stock, cold, ...): a drift of the machine's
# speed during the run shows in both medians and spreads instead of hiding in their ratio.
ALTERNATING = (("stock", "cold"), ("cuda_stock", "cuda_cold"))
QUICK = ("env", "subset", "verify")
DEFAULT_SUBSET = "nms,roi_align,bbox_overlaps,focal_loss,roi_pool"
# nm's types of a strong definition: text, data, read-only data, bss (weak: W/V, unique: u).
STRONG_SYMBOL_TYPES = frozenset("TDRB")
CHANGED_HEADER = "mmcv/ops/csrc/common/box_iou_rotated_utils.hpp"
CHILD = r"""
import json, resource, subprocess, sys, time
started = time.monotonic()
rc = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"rc": rc, "seconds": time.monotonic() - started, "maxrss_kib": usage.ru_maxrss,
           "cpu_s": usage.ru_utime + usage.ru_stime}, open(sys.argv[1], "w"))
"""
# Variables that would change the stock build or leak the bench's compiler cache into it.
BUILD_VARS = ("CC", "CXX", "CCACHE_DIR", "CCACHE_BASEDIR", "CCACHE_NOHASHDIR", "MAX_JOBS",
              "TORCH_CUDA_ARCH_LIST", "MMCV_CUDA_ARGS", "PYTORCH_NVCC", "MMBUILD_CACHE_DIR")


@dataclass
class Run:
    seconds: float
    peak_rss_mib: float
    rc: int
    peak_step_mib: float | None = None      # most of the machine's memory the step held at once
    available_mib: float | None = None      # MemAvailable when the step started
    cpu_s: float | None = None              # user + system time of the step's processes (getrusage)
    machine_cpu_s: float | None = None      # the machine's busy CPU time during the step (/proc/stat)


def _available_mib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _busy_cpu_s() -> float | None:
    """The CPU time every process of the machine has used since boot (/proc/stat): a step's share of it,
    on an otherwise idle machine, counts the processes that getrusage misses (those whose parents
    exit without waiting for them)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """The drop of MemAvailable below its value at the start, sampled twice a second: what all the
    step's processes (parallel compilers included) held at once."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.available_mib = _available_mib()
        self.peak_used_mib: float | None = 0.0 if self.available_mib is not None else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            now = _available_mib()
            if now is not None and self.available_mib is not None:
                self.peak_used_mib = round(max(self.peak_used_mib or 0.0, self.available_mib - now), 1)

    def __enter__(self) -> MemorySampler:
        if self.available_mib is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


@dataclass
class Measurement:
    name: str
    command: str
    runs: list[Run] = field(default_factory=list)
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.rc == 0 for r in self.runs)

    @property
    def median_s(self) -> float | None:
        return round(statistics.median(r.seconds for r in self.runs), 2) if self.runs else None

    @property
    def median_cpu_s(self) -> float | None:
        """The machine's busy CPU-seconds during the step (the bench expects an idle machine)."""
        values = [r.machine_cpu_s for r in self.runs if r.machine_cpu_s is not None]
        return round(statistics.median(values), 1) if values else None

    @property
    def spread_s(self) -> str:
        """The fastest and the slowest run: a machine that drifts shows here."""
        if len(self.runs) < 2:
            return ""
        times = sorted(r.seconds for r in self.runs)
        return f"{times[0]:.0f}-{times[-1]:.0f}"

    @property
    def peak_step_mib(self) -> float | None:
        values = [r.peak_step_mib for r in self.runs if r.peak_step_mib is not None]
        return max(values) if values else None

    @property
    def peak_rss_mib(self) -> float | None:
        return max(r.peak_rss_mib for r in self.runs) if self.runs else None


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = Path(args.work).resolve()
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.results: dict[str, Measurement] = {}
        self._venv: Path | None = Path(args.venv) if args.venv else None
        self._sdist: Path | None = None

    # -- helpers ----------------------------------------------------------------------------

    def clean_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in BUILD_VARS}
        env.update(extra)
        return env

    def timed(self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
        """Run ``argv`` in a child that reports its time and peak memory; stdout and stderr go to
        ``logs/<name>-<n>.out`` and ``.log``. The machine's memory in use is sampled meanwhile."""
        stamp = self.logs / f"{name}-{self.runs_logged(name)}"
        result_file = stamp.with_suffix(".json")
        busy_before = _busy_cpu_s()
        with open(stamp.with_suffix(".out"), "w") as out, open(stamp.with_suffix(".log"), "w") as log, \
                MemorySampler() as memory:
            subprocess.run([sys.executable, "-c", CHILD, str(result_file), *argv], env=env, cwd=cwd,
                           stdout=out, stderr=log, check=False)
        busy_after = _busy_cpu_s()
        known = busy_before is not None and busy_after is not None
        busy = round(busy_after - busy_before, 1) if known else None
        data = json.loads(result_file.read_text())
        run = Run(round(data["seconds"], 2), round(data["maxrss_kib"] / 1024, 1), data["rc"],
                  memory.peak_used_mib, memory.available_mib, round(data["cpu_s"], 1), busy)
        print(f"  {name}: {run.seconds:.1f} s ({run.cpu_s:.0f} CPU-s, machine {busy} CPU-s), "
              f"peak {run.peak_rss_mib:.0f} MiB, rc {run.rc}, machine "
              f"memory used by the step {run.peak_step_mib} of {run.available_mib} MiB available"
              f" (log {stamp.with_suffix('.log')})", file=sys.stderr)
        return run

    def make_venv(self, path: Path, packages: list[str]) -> Path:
        python = path / "bin" / "python"
        if not python.exists():
            print(f"creating {path}", file=sys.stderr)
            subprocess.run([self.args.python, "-m", "venv", str(path)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True,
                           env=self.clean_env())
        return python

    def mmbuild_python(self) -> Path:
        if self._venv is None:
            self._venv = self.work / "venv-mmbuild"
        return self.make_venv(self._venv, [f"torch=={self.args.torch}", "ninja", "-e", str(REPO)])

    def sdist(self) -> Path:
        if self._sdist is None:
            self._sdist = download_sdist("mmcv", self.args.mmcv, folder=self.work / "sdists").path
        return self._sdist

    def mmbuild(self, python: Path, *arguments: str) -> list[str]:
        jobs = ["--jobs", str(self.args.jobs)] if self.args.jobs else []
        return [str(python), "-m", "mmbuild", *arguments, *jobs]

    def fresh(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def caches(self, wheels: str, ccache: str, fresh: bool) -> dict[str, str]:
        """Wheel cache and compiler cache folders under --work (emptied first when ``fresh``)."""
        folders = {"MMBUILD_CACHE_DIR": wheels, "CCACHE_DIR": ccache}
        env = {}
        for variable, name in folders.items():
            path = self.fresh(name) if fresh else self.work / name
            path.mkdir(parents=True, exist_ok=True)
            env[variable] = str(path)
        return env

    def record(self, name: str, command: list[str], runs: list[Run], note: str = "", **extra) -> None:
        """Add ``runs`` to the measurement ``name`` (one more round of an alternating step)."""
        found = self.results.get(name)
        if found is None:
            self.results[name] = Measurement(name, " ".join(command), runs, note, extra)
        else:
            found.runs += runs
            found.extra.update(extra)

    # -- measurements -----------------------------------------------------------------------

    def step_env(self) -> None:
        python = self.mmbuild_python()
        argv = [str(python), "-m", "mmbuild", "env", "--json"]
        self.record("env", argv, [self.timed("env", argv, self.clean_env()) for _ in range(self.args.repeat)])

    def step_verify(self) -> None:
        python = self.mmbuild_python()
        argv = [str(python), "-m", "mmbuild", "verify", "--json"]
        runs = [self.timed("verify", argv, self.clean_env()) for _ in range(self.args.repeat)]
        self.record("verify", argv, runs, "checks only the ops the installed build has")

    def step_stock(self) -> None:
        self.stock("stock", f"mmcv=={self.args.mmcv}",
                   "mmcv's own setup.py, its default MAX_JOBS unless --jobs")

    def step_stock_cxx20(self) -> None:
        tree = self.unpacked_source("source-cxx20")
        setup = tree / "setup.py"
        text = setup.read_text()
        if "'-std=c++17'" not in text:
            raise SystemExit(f"stock_cxx20: no '-std=c++17' in {setup}")
        setup.write_text(text.replace("'-std=c++17'", "'-std=c++20'"))
        self.stock("stock_cxx20", str(tree),
                   "the stock step with setup.py's -std=c++17 replaced by -std=c++20")

    def stock(self, name: str, requirement: str, note: str) -> None:
        python = self.make_venv(self.work / "venv-stock",
                                [f"torch=={self.args.torch}", "setuptools<82", "ninja", "wheel"])
        argv = [str(python), "-m", "pip", "install", "--no-build-isolation", "--no-cache-dir", requirement]
        env = self.clean_env(**({"MAX_JOBS": str(self.args.jobs)} if self.args.jobs else {}))
        run = self.timed(name, argv, env)
        check = subprocess.run([str(python), "-c", "import mmcv.ops"], capture_output=True, text=True,
                               check=False)
        self.record(name, argv, [run], note, ops_import=check.returncode == 0, **self.exports(python, name))
        subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "mmcv"], check=False)

    def install_argv(self, python: Path, source: Path, *more: str) -> list[str]:
        return self.mmbuild(python, "install", "--source", str(source), "--compiler-cache",
                            self.args.compiler_cache, "--json", *more)

    def step_cold(self) -> None:
        python = self.mmbuild_python()
        argv = self.install_argv(python, self.sdist())
        env = self.clean_env(**self.caches("cache-main", "ccache-main", fresh=True))
        run = self.timed("cold", argv, env)
        self.record("cold", argv, [run], "empty wheel cache and empty compiler cache",
                    **self.build_facts("cold"), **self.exports(python, "cold"))

    def step_cold_no_pch(self) -> None:
        self.cold_variant("cold_no_pch", "--no-pch", "nopch")

    def step_cold_no_unity(self) -> None:
        self.cold_variant("cold_no_unity", "--no-unity", "nounity")

    def cold_variant(self, name: str, flag: str, caches: str) -> None:
        python = self.mmbuild_python()
        argv = self.install_argv(python, self.sdist(), flag)
        env = self.clean_env(**self.caches(f"cache-{caches}", f"ccache-{caches}", fresh=True))
        run = self.timed(name, argv, env)
        self.record(name, argv, [run], f"{flag}, empty caches", **self.build_facts(name),
                    **self.exports(python, name))

    def step_cache_hit(self) -> None:
        python = self.mmbuild_python()
        argv = self.install_argv(python, self.sdist())
        env = self.clean_env(**self.caches("cache-main", "ccache-main", fresh=False))
        runs = [self.timed("cache_hit", argv, env) for _ in range(self.args.repeat)]
        self.record("cache_hit", argv, runs, "same fingerprint: wheel from the cache, pip reinstall")

    def step_rebuild(self) -> None:
        python = self.mmbuild_python()
        env = self.clean_env(**self.caches("cache-main", "ccache-main", fresh=False))
        if self.args.change == "threads-per-block":
            argv = self.install_argv(python, self.sdist(), "--threads-per-block", "256")
            note = "--threads-per-block 256 with the warm compiler cache"
        else:
            source = self.changed_source()
            argv = self.install_argv(python, source)
            note = f"one #define appended to {CHANGED_HEADER}, warm compiler cache"
        self.ccache("--zero-stats", env)
        run = self.timed("rebuild", argv, env)
        self.record("rebuild", argv, [run], note, ccache=self.ccache("--print-stats", env),
                    **self.build_facts("rebuild"))

    def step_subset(self) -> None:
        python = self.mmbuild_python()
        argv = self.install_argv(python, self.sdist(), "--ops", self.args.subset_ops)
        env = self.clean_env(**self.caches("cache-subset", "ccache-subset", fresh=True))
        run = self.timed("subset", argv, env)
        self.record("subset", argv, [run], f"{len(self.args.subset_ops.split(','))} ops, empty caches",
                    **self.build_facts("subset"))

    def cuda_subset(self, name: str, *more: str) -> None:
        if not self.args.cuda_python:
            raise SystemExit(f"{name} needs --cuda-python (a venv with a CUDA torch and mmbuild)")
        python = Path(self.args.cuda_python)
        argv = self.install_argv(python, self.sdist(), "--arch", self.args.cuda_arch, "--ops",
                                 self.args.cuda_ops, *more)
        env = self.clean_env(**self.caches(f"cache-{name}", f"ccache-{name}", fresh=True))
        run = self.timed(name, argv, env)
        self.record(name, argv, [run], f"CUDA {self.args.cuda_arch}, ops {self.args.cuda_ops}, empty caches"
                    + (", --no-pch" if more else ""), **self.build_facts(name), **self.exports(python, name))

    def cuda_python(self) -> Path:
        if not self.args.cuda_python:
            raise SystemExit("the CUDA steps need --cuda-python (a venv with a CUDA torch and mmbuild)")
        return Path(self.args.cuda_python)

    def step_cuda_stock(self) -> None:
        """The stock CUDA path: mmcv's setup.py in the CUDA venv, FORCE_CUDA=1, one arch, setuptools<82
        and the CUDA library headers of torch's NVIDIA wheels on CPATH (the toolkit lacks them)."""
        python = self.cuda_python()
        subprocess.run([str(python), "-m", "pip", "install", "-q", "setuptools<82", "ninja", "wheel"],
                       check=True, env=self.clean_env())
        purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        site = subprocess.run([str(python), "-c", purelib], capture_output=True, text=True,
                              check=True).stdout.strip()
        includes = sorted(str(p) for p in Path(site, "nvidia").glob("*/include"))
        env = self.clean_env(FORCE_CUDA="1", TORCH_CUDA_ARCH_LIST=self.args.cuda_arch,
                             CPATH=os.pathsep.join(includes),
                             **({"MAX_JOBS": str(self.args.jobs)} if self.args.jobs else {}))
        argv = [str(python), "-m", "pip", "install", "--no-build-isolation", "--no-cache-dir",
                f"mmcv=={self.args.mmcv}"]
        run = self.timed("cuda_stock", argv, env)
        note = (f"mmcv's own setup.py, FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST={self.args.cuda_arch}, "
                "NVIDIA wheel headers on CPATH")
        self.record("cuda_stock", argv, [run], note, **self.exports(python, "cuda_stock"))
        subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "mmcv"], check=False)

    def step_cuda_cold(self) -> None:
        python = self.cuda_python()
        argv = self.install_argv(python, self.sdist(), "--arch", self.args.cuda_arch)
        env = self.clean_env(**self.caches("cache-cuda", "ccache-cuda", fresh=True))
        run = self.timed("cuda_cold", argv, env)
        self.record("cuda_cold", argv, [run], f"full CUDA build for {self.args.cuda_arch}, empty caches",
                    **self.build_facts("cuda_cold"), **self.exports(python, "cuda_cold"))
        subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "mmcv"], check=False)

    def step_cuda_subset(self) -> None:
        self.cuda_subset("cuda_subset")

    def step_cuda_subset_no_pch(self) -> None:
        self.cuda_subset("cuda_subset_no_pch", "--no-pch")

    # -- facts from the runs -----------------------------------------------------------------

    def unpacked_source(self, folder: str) -> Path:
        root = self.fresh(folder)
        with tarfile.open(self.sdist()) as archive:
            archive.extractall(root, filter="data")
        (tree,) = root.iterdir()
        return tree

    def changed_source(self) -> Path:
        tree = self.unpacked_source("source-changed")
        header = tree / CHANGED_HEADER
        # A new value each run: a second rebuild in the same --work is a rebuild too, not a wheel-cache hit.
        header.write_text(header.read_text() + f"\n#define MMBUILD_BENCH_CHANGED {time.time_ns()}\n")
        return tree

    def build_facts(self, name: str) -> dict:
        """Cache outcome and compile units, from the step's mmbuild JSON report and build log."""
        outputs = sorted(self.logs.glob(f"{name}-*.out"))
        try:
            report = json.loads(outputs[-1].read_text()) if outputs else {}
        except ValueError:
            report = {}
        facts: dict = {"cache": report.get("cache")}
        wheel = report.get("wheel")
        if wheel and Path(wheel).is_file():
            facts["wheel_mib"] = round(Path(wheel).stat().st_size / 2**20, 1)
        build = next((s for s in report.get("steps", []) if s.get("stage") == "build"), None)
        pch = re.search(r"precompiled header (.+?)(;|$)", build["detail"]) if build else None
        if pch:
            facts["pch"] = pch.group(1)
        build_log = report.get("log")
        if build_log and Path(build_log).is_file() and report.get("cache") == "built":
            units = re.findall(r"\[(\d+)/(\d+)\]", Path(build_log).read_text(errors="replace"))
            facts["compile_units"] = int(units[-1][1]) if units else 0
        return facts

    def runs_logged(self, name: str) -> int:
        """How many runs of step ``name`` have a log (``logs/<name>-<n>.log``, n from 0)."""
        return len(list(self.logs.glob(f"{name}-*.log")))

    def exports(self, python: Path, name: str) -> dict:
        """The installed ``_ext``'s exported symbols and its size. Every defined dynamic symbol (count and
        a digest of the sorted names), and the strong ones alone: mmcv's own functions, which a build
        of the same source defines whatever headers and C++ standard its units read (the weak and
        unique ones are the inline functions and statics those headers instantiate). The sorted list,
        with each symbol's type, goes to ``logs/<name>-<n>.exports.txt`` for a diff."""
        found = subprocess.run([str(python), "-c", "import glob, os, mmcv; print(glob.glob(os.path.join("
                                "os.path.dirname(mmcv.__file__), '_ext*.so'))[0])"],
                               capture_output=True, text=True, check=False, env=self.clean_env())
        if found.returncode != 0 or not shutil.which("nm"):
            return {}
        nm = subprocess.run(["nm", "-D", "--defined-only", found.stdout.strip()], capture_output=True,
                            text=True, check=False).stdout
        typed = sorted({tuple(line.split()[-2:]) for line in nm.splitlines() if len(line.split()) >= 2},
                       key=lambda pair: (pair[1], pair[0]))
        listing = self.logs / f"{name}-{max(self.runs_logged(name) - 1, 0)}.exports.txt"
        listing.write_text("".join(f"{kind} {symbol}\n" for kind, symbol in typed))
        names = sorted({symbol for _kind, symbol in typed})
        strong = sorted({symbol for kind, symbol in typed if kind in STRONG_SYMBOL_TYPES})
        ext_mib = round(Path(found.stdout.strip()).stat().st_size / 2**20, 1)
        return {"exports": len(names), "exports_sha256": _digest(names), "strong_exports": len(strong),
                "strong_exports_sha256": _digest(strong), "ext_mib": ext_mib, "exports_file": str(listing)}

    def ccache(self, flag: str, env: dict[str, str]) -> dict:
        if not shutil.which("ccache"):
            return {}
        out = subprocess.run(["ccache", flag], env=env, capture_output=True, text=True, check=False).stdout
        pairs = (line.split("\t") for line in out.splitlines() if "\t" in line)
        return {k: v for k, v in pairs if k in ("direct_cache_hit", "preprocessed_cache_hit", "cache_miss")}

    # -- the run ----------------------------------------------------------------------------

    def run(self, steps: list[str]) -> dict:
        started = time.time()
        for name in order(steps, self.args.rounds):
            print(f"==> {name}", file=sys.stderr)
            getattr(self, f"step_{name}")()
        return self.report(time.time() - started)

    def report(self, total: float) -> dict:
        stock = self.results.get("stock")
        cold = self.results.get("cold")
        rows = []
        for m in self.results.values():
            row = {"name": m.name, "ok": m.ok, "median_s": m.median_s, "median_cpu_s": m.median_cpu_s,
                   "spread_s": m.spread_s, "runs": [asdict(r) for r in m.runs],
                   "peak_rss_mib": m.peak_rss_mib, "peak_step_mib": m.peak_step_mib, "command": m.command,
                   "note": m.note, **m.extra}
            if stock and stock.median_s and m.median_s is not None:
                row["vs_stock"] = round(m.median_s / stock.median_s, 3)
            rows.append(row)
        return {"machine": _machine(), "mmcv": self.args.mmcv, "torch": self.args.torch,
                "jobs": self.args.jobs, "total_s": round(total, 1), "measurements": rows,
                "targets": _targets(self.results, stock, cold),
                "export_differences": export_differences(self.results)}


def export_differences(results: dict[str, Measurement]) -> list[dict]:
    """For each of EXPORT_PAIRS that both ran: the exported symbols only one of them defines, counted
    by nm's type (from each step's last run), and a few names of each side."""
    rows = []
    for one, other in EXPORT_PAIRS:
        lists = [_typed_exports(results.get(name)) for name in (one, other)]
        if None in lists:
            continue
        first, second = ({symbol: kind for kind, symbol in typed} for typed in lists)
        only = [sorted(set(a) - set(b)) for a, b in ((first, second), (second, first))]
        rows.append({"one": one, "other": other, "identical": not (only[0] or only[1]),
                     "only_one": _by_type(only[0], first), "only_other": _by_type(only[1], second),
                     "examples_one": only[0][:5], "examples_other": only[1][:5]})
    return rows


def _typed_exports(measurement: Measurement | None) -> list[tuple[str, str]] | None:
    path = measurement and measurement.extra.get("exports_file")
    if not path or not Path(path).is_file():
        return None
    return [tuple(line.split(" ", 1)) for line in Path(path).read_text().splitlines() if " " in line]


def _by_type(names: list[str], kinds: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        counts[kinds[name]] = counts.get(kinds[name], 0) + 1
    return dict(sorted(counts.items()))


def order(steps: list[str], rounds: int) -> list[str]:
    """The steps in the bench's order; each alternating pair asked for runs ``rounds`` times in turn."""
    done: list[str] = []
    for name in ALL_STEPS:
        if name not in steps or name in done:
            continue
        pair = next((p for p in ALTERNATING if name in p and all(n in steps for n in p)), None)
        done += list(pair) * rounds if pair else [name]
    return done


def _cuda_targets(results: dict[str, Measurement]) -> list[dict]:
    stock, cold = results.get("cuda_stock"), results.get("cuda_cold")
    if not (stock and cold):
        return []
    return [
        _check("cuda_cold", cold.median_s, stock.median_s and round(stock.median_s * 0.5, 1),
               "CUDA full build at or under 0.5x the stock CUDA path"),
        _check("cuda_cold", cold.median_cpu_s, 2400, "CUDA full build at or under 2,400 CPU-seconds"),
        *_stock_exports(stock, cold, "CUDA: "),
    ]


def _stock_exports(stock: Measurement | None, cold: Measurement | None, prefix: str = "") -> list[dict]:
    """Whether mmbuild's build exports what the stock build does: mmcv's own (strong) symbols, and
    every one (the weak and unique ones follow the headers and the C++ standard of the units)."""
    strong, every = _same_exports(stock, cold, "strong_exports_sha256"), _same_exports(stock, cold)
    return [_agreement(f"{prefix}the same strong exported symbols (mmcv's own) as the stock build", strong,
                       cold and cold.name),
            _agreement(f"{prefix}the same exported symbols, weak ones included, as the stock build", every,
                       cold and cold.name)]


def _same_standard_exports(results: dict[str, Measurement]) -> list[dict]:
    """Whether mmbuild's builds export what mmcv's own build does under the same standard (C++20)."""
    stock20 = results.get("stock_cxx20")
    rows = []
    for name, how in (("cold_no_unity", "with --no-unity"), ("cold", "with unity units (the default)")):
        same = _same_exports(stock20, results.get(name))
        if same is not None:
            rows.append(_agreement(f"mmbuild {how}: the same exported symbols, weak ones included, as the "
                                   "stock build with -std=c++20", same, name))
    return rows


def _agreement(text: str, same: bool | None, measurement: str | None) -> dict:
    """A target row that holds when two builds agree (``same``; None: not both measured)."""
    return {"target": text, "value": same, "limit": True, "met": same, "measurement": measurement}


def _check(name, value, limit, text) -> dict:
    return {"target": text, "value": value, "limit": limit,
            "met": None if value is None or limit is None else value <= limit, "measurement": name}


def _targets(results: dict[str, Measurement], stock, cold) -> list[dict]:
    check = _check
    hit, rebuild, subset, no_pch = (results.get(n) for n in ("cache_hit", "rebuild", "subset", "cold_no_pch"))
    cuda, cuda_no_pch = results.get("cuda_subset"), results.get("cuda_subset_no_pch")
    fifth_of_cold = cold and cold.median_s and round(cold.median_s * 0.2, 1)
    stock_s = stock and stock.median_s
    # --no-pch turns unity units off too: the precompiled header alone is no_pch against no_unity
    same = _same_exports(results.get("cold_no_unity") or cold, no_pch)
    cuda_same = _same_exports(cuda, cuda_no_pch)
    cuda_rows = [
        check("cuda_subset", cuda.median_s, cuda_no_pch.median_s,
              "CUDA subset with the precompiled header no slower than without it"),
        _agreement("CUDA subset: the same exported symbols with and without the precompiled header",
                   cuda_same, "cuda_subset_no_pch"),
    ] if cuda and cuda_no_pch else []
    return [*cuda_rows,
        *_cuda_targets(results),
        check("cold", cold and cold.median_s, stock_s and round(stock_s * 0.15, 1),
              "cold full build at or under 0.15x the stock path"),
        check("rebuild", rebuild and rebuild.median_s, stock_s and round(stock_s * 0.03, 1),
              "rebuild after one changed define at or under 0.03x the stock path's cold time"),
        *_stock_exports(stock, cold),
        *_same_standard_exports(results),
        _agreement("the same exported symbols with and without the precompiled header", same, "cold_no_pch"),
        check("cold", cold and cold.median_s, stock_s and round(stock_s * 1.05, 1),
              "cold full build no slower than the stock path (within 5%)"),
        check("cache_hit", hit and hit.median_s, 30, "cache-hit reinstall under 30 s"),
        check("rebuild", rebuild and rebuild.median_s, fifth_of_cold,
              "rebuild after one changed define under 20% of a cold build"),
        check("subset", subset and subset.median_s, fifth_of_cold,
              "5-op subset under 20% of a full build"),
    ]


def _same_exports(one: Measurement | None, other: Measurement | None,
                  key: str = "exports_sha256") -> bool | None:
    """Whether both installed the same exported symbols (``key``: all of them, or the strong ones)."""
    if one and other and one.extra.get(key) and other.extra.get(key):
        return one.extra[key] == other.extra[key]
    return None


def _digest(names: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def _machine() -> dict:
    import platform

    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0] if Path("/proc/meminfo").exists() else ""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "memory": mem.split(":", 1)[-1].strip()}


def markdown(report: dict) -> str:
    lines = [f"# mmbuild benchmark: mmcv {report['mmcv']}, torch {report['torch']}",
             "", f"Machine: {report['machine']['cpus']} CPUs, {report['machine']['memory']}, "
             f"{report['machine']['platform']}; jobs: {report['jobs'] or 'default'}; "
             f"total {report['total_s']} s.", "",
             "| measurement | median s | spread s | median CPU-s | runs | peak RSS MiB "
             "| machine memory used MiB | vs stock | note |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for row in report["measurements"]:
        status = "" if row["ok"] else " (FAILED)"
        facts = ("cache", "compile_units", "exports", "ext_mib", "wheel_mib", "pch")
        extra = "; ".join(f"{k} {row[k]}" for k in facts if row.get(k) is not None)
        lines.append(f"| {row['name']}{status} | {row['median_s']} | {row['spread_s']} | "
                     f"{row['median_cpu_s'] or ''} | {len(row['runs'])} | "
                     f"{row['peak_rss_mib']} | {row.get('peak_step_mib', '')} | {row.get('vs_stock', '')} | "
                     f"{row['note']}"
                     f"{'; ' + extra if extra else ''} |")
    lines += ["", "| target | value s | limit s | met |", "| --- | ---: | ---: | --- |"]
    for t in report["targets"]:
        met = {True: "yes", False: "no", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {t['value']} | {t['limit']} | {met} |")
    if report.get("export_differences"):
        lines += ["", "| exports of | against | identical | only in the first | only in the second |",
                  "| --- | --- | --- | --- | --- |"]
        for d in report["export_differences"]:
            lines.append(f"| {d['one']} | {d['other']} | {'yes' if d['identical'] else 'no'} | "
                         f"{_counts(d['only_one'])} | {_counts(d['only_other'])} |")
    return "\n".join(lines) + "\n"


def _counts(by_type: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in by_type.items()) or "none"


def _installed_torch() -> str | None:
    try:
        from importlib.metadata import version

        return version("torch")
    except Exception:  # noqa: BLE001 - any failure means "not known"
        return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mmcv", default="2.2.0", help="mmcv version (default 2.2.0)")
    parser.add_argument("--torch", default=_installed_torch(), help="torch version for the venvs")
    parser.add_argument("--work", default="bench-work", help="scratch folder (venvs, caches, logs)")
    parser.add_argument("--out", default="bench-results", help="where bench.json and bench.md go")
    parser.add_argument("--only", help=f"comma list of: {', '.join(ALL_STEPS)}")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the cheap steps (median)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of the alternating pairs (stock then cold, cuda_stock then cuda_cold)")
    parser.add_argument("--jobs", type=int, help="parallel compile jobs for every build")
    parser.add_argument("--subset-ops", default=DEFAULT_SUBSET)
    parser.add_argument("--change", choices=("define", "threads-per-block"), default="define",
                        help="the one-define change of the rebuild step (threads-per-block: CUDA only)")
    parser.add_argument("--compiler-cache", choices=("ccache", "sccache"), default="ccache")
    parser.add_argument("--venv", help="reuse this venv (torch + mmbuild) for the mmbuild steps")
    parser.add_argument("--python", default=sys.executable, help="interpreter for new venvs")
    parser.add_argument("--cuda-python", help="the CUDA tier's venv python (CUDA torch, mmbuild)")
    parser.add_argument("--cuda-arch", default="9.0", help="the CUDA tier's --arch (default 9.0)")
    parser.add_argument("--cuda-ops", default="nms,roi_align", help="the CUDA tier's --ops")
    args = parser.parse_args(argv)
    if not args.torch:
        parser.error("no torch found here: pass --torch VERSION")
    steps = QUICK if args.quick else tuple((args.only or ",".join(STEPS)).split(","))
    unknown = sorted(set(steps) - set(ALL_STEPS))
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(ALL_STEPS)}")
    if set(steps) & set(CUDA_STEPS) and not args.cuda_python:
        parser.error("the CUDA steps need --cuda-python")
    args.steps = list(steps)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Bench(args).run(args.steps)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if all(row["ok"] for row in report["measurements"]) else 1


if __name__ == "__main__":
    sys.exit(main())

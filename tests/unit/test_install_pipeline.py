"""The install/build pipeline end to end on a tiny mmcv-shaped tree, with injected faults.

Each fault checks the documented exit code and that the Python environment is unchanged.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fs_helpers import read_only_dir

from mmbuild.errors import EXIT_BUILD_FAILED, BuildFailedError
from mmbuild.install.wheel import installed_mmcv
from mmbuild.model.build_plan import BuildPlan, MmcvChoice, Toolchain
from mmbuild.model.environment import Environment, OSInfo, PythonInfo, TorchInfo
from mmbuild.model.options import BuildOptions
from mmbuild.pipeline.run import PipelineSettings, run_pipeline
from mmbuild.pipeline.services import default_services
from mmbuild.plan.fingerprint import fingerprint
from mmbuild.plan.remedies import fallback_arches
from mmbuild.wheels.metadata import METADATA_MEMBER

pytest.importorskip("torch")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "build"
FAKE_TREE = FIXTURES / "fake_mmcv"


def fake_planner(envs, options, *, names=None, patch_digests=None):
    """A fixed CPU plan for the fake tree; the fingerprint covers what the real one would."""
    package, version = (options.mmcv or "mmcv==2.2.0").split("==")
    patches = ["test-break-source"] if os.environ.get("TEST_BREAK_SOURCE") else []
    inputs = {"mmcv": {"source_sha256": None}, "patches": {p: (patch_digests or {}).get(p) for p in patches}}
    jobs = options.jobs or 1
    return BuildPlan(mmcv=MmcvChoice(package, version, "test"), target="cpu", cxx_std="c++17", max_jobs=jobs,
                     patches=patches, toolchain=Toolchain("c++", "default"),
                     env={"MMCV_WITH_OPS": "1", "MAX_JOBS": str(jobs), "MMBUILD_CXX_STD": "c++17"},
                     fingerprint=fingerprint(inputs), fingerprint_inputs=inputs)


def node_env() -> Environment:
    return Environment(os=OSInfo("Linux", "6.1", "x86_64"), python=PythonInfo("3.11.7", sys.executable),
                       torch=TorchInfo("2.13.0+cpu", None, True))


def settings(**kw) -> PipelineSettings:
    base = dict(install=False, verify=False, preflight=False, from_envs=(node_env(),), live_probe=False,
                specs_dir=FIXTURES / "specs")
    base.update(kw)
    return PipelineSettings(**base)


def run(opts: BuildOptions, how: PipelineSettings, command: str = "install", **services):
    """The pipeline with the fake planner (and any other collaborator given by name)."""
    return run_pipeline(opts, how, command=command,
                        services=default_services(**{"planner": fake_planner, **services}))


def options(**kw) -> BuildOptions:
    return BuildOptions(source=str(FAKE_TREE), compiler_cache="none", **kw)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(root))
    return root


def _freeze() -> str:
    argv = [sys.executable, "-m", "pip", "freeze", "--all"]
    return subprocess.run(argv, capture_output=True, text=True).stdout


def test_build_into_a_wheelhouse_then_hit_the_cache(cache, tmp_path):
    house = tmp_path / "house"
    first = run(options(), settings(out_dir=house), command="build")
    assert first.cache == "built" and first.ok
    wheel = Path(first.wheel)
    assert wheel.parent == house
    with zipfile.ZipFile(wheel) as archive:
        embedded = json.loads(archive.read(METADATA_MEMBER))
    assert embedded["fingerprint"] == first.plan["fingerprint"]
    assert embedded["torch"]["version"] == "2.13.0+cpu" and embedded["target"] == "cpu"
    index = json.loads((house / "mmbuild-index.json").read_text())
    assert index[first.plan["fingerprint"]]["wheel"] == wheel.name
    assert not list((cache / "work").iterdir()), "the work folder is removed after the run"

    second = run(options(), settings(out_dir=house), command="build")
    assert second.cache == "hit" and second.plan["fingerprint"] == first.plan["fingerprint"]
    assert [s.stage for s in second.steps if s.stage == "build"] == []


def test_wheelhouse_serves_a_node_with_an_empty_cache(tmp_path, monkeypatch):
    house = tmp_path / "house"
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path / "build-node-cache"))
    first = run(options(wheelhouse=str(house)), settings(), command="build")
    assert first.cache == "built"
    assert (house / Path(first.wheel).name).is_file()
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path / "other-node-cache"))
    second = run(options(wheelhouse=str(house)), settings(), command="build")
    assert second.cache == "wheelhouse" and Path(second.wheel).parent == house
    assert not (tmp_path / "other-node-cache" / "wheels").exists() or \
        not list((tmp_path / "other-node-cache" / "wheels").glob("*/*.whl"))


def test_a_patch_that_breaks_the_source_fails_with_exit_4_and_changes_nothing(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_BREAK_SOURCE", "1")
    before_dists, before_freeze = installed_mmcv(), _freeze()
    report = run(options(), settings(install=True, verify=True))
    assert isinstance(report.failure, BuildFailedError)
    assert report.failure.exit_code == EXIT_BUILD_FAILED
    assert "undeclared_identifier_for_the_test" in report.failure.message
    assert report.error["exit_code"] == EXIT_BUILD_FAILED
    assert Path(report.log).is_file()
    assert [s.stage for s in report.steps][-1] == "build"
    assert installed_mmcv() == before_dists and _freeze() == before_freeze
    assert not list((cache / "wheels").glob("*/*.whl"))
    assert not list((cache / "work").iterdir())


def _race(cache_root: str, results: str) -> None:
    os.environ["MMBUILD_CACHE_DIR"] = cache_root
    report = run(options(), settings(), command="build")
    with open(results, "a") as handle:
        handle.write(f"{report.cache} {report.plan['fingerprint']}\n")


def test_two_builds_racing_on_one_cache_build_once(cache, tmp_path):
    results = tmp_path / "results.txt"
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_race, args=(str(cache), str(results))) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(300)
        assert proc.exitcode == 0
    outcomes = sorted(line.split()[0] for line in results.read_text().splitlines())
    assert outcomes == ["built", "hit"]
    assert len(list((cache / "wheels").glob("*/*.whl"))) == 1


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmbuild", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_dry_run_prints_the_plan_and_the_steps_and_creates_nothing(tmp_path):
    cache = tmp_path / "cache"
    result = _cli("install", "--dry-run", "--json", env={"MMBUILD_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["plan"]["mmcv"]["package"] in ("mmcv", "mmcv-full")
    planned = [s["stage"] for s in report["steps"] if s["status"] == "planned"]
    assert planned == ["source", "wheel", "patch", "unity", "preflight", "build", "install", "verify"]
    assert not cache.exists()



def test_read_only_cache_dir_is_exit_2_before_anything(tmp_path):
    before = _freeze()
    result = _cli("install", "--source", str(FAKE_TREE), "--json",
                  env={"MMBUILD_CACHE_DIR": str(read_only_dir(tmp_path))})
    assert result.returncode == 2, result.stderr
    assert "not writable" in result.stderr and "MMBUILD_CACHE_DIR" in result.stderr
    assert json.loads(result.stdout)["error"]["exit_code"] == 2
    assert _freeze() == before


def test_source_the_patches_do_not_recognise_is_exit_6(tmp_path):
    """The real plan patches mmcv's setup.py; the fake tree's setup.py is unknown content."""
    before = _freeze()
    result = _cli("install", "--source", str(FAKE_TREE), "--compiler-cache", "none",
                  env={"MMBUILD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 6, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("mmbuild: error:")
    assert "Traceback" not in result.stderr
    assert _freeze() == before


def test_arch_fallback_replaces_the_unsupported_arch():
    from mmbuild.model.environment import CudaToolkit

    toolkit = CudaToolkit("/usr/local/cuda-11.0", "/usr/local/cuda-11.0/bin/nvcc", "11.0",
                          ["sm_70", "sm_75", "sm_80"])
    plan = BuildPlan(mmcv=MmcvChoice("mmcv", "2.1.0", ""), target="cuda", arch_list=["7.5", "8.6+PTX"],
                     cuda_home="/usr/local/cuda-11.0",
                     toolchain=Toolchain("c++", "default", f"{toolkit.home}/bin/nvcc", "toolkit", toolkit))
    assert fallback_arches(plan, "compute_86") == ["7.5", "8.0"]
    assert fallback_arches(plan, "compute_75") == ["7.0", "8.6"]     # SASS 7.0 runs on 7.5
    assert fallback_arches(plan, "compute_70") == []                 # nothing older to fall back to


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("fault", ["truncated", "dotdot"])
def test_bad_sdists_are_exit_2_and_change_nothing(tmp_path, fault):
    members = {"mmcv-2.2.0/setup.py": b"print('x')\n",
               "mmcv-2.2.0/mmcv/version.py": b"__version__ = '2.2.0'\n"}
    if fault == "dotdot":
        members["mmcv-2.2.0/../../escaped.py"] = b"x = 1\n"
    else:
        members["mmcv-2.2.0/mmcv/big.py"] = os.urandom(200_000)
    sdist = _tarball(tmp_path / "mmcv-2.2.0.tar.gz", members)
    if fault == "truncated":
        sdist.write_bytes(sdist.read_bytes()[:100_000])
    before = _freeze()
    result = _cli("install", "--source", str(sdist), "--compiler-cache", "none",
                  env={"MMBUILD_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 2, result.stderr
    assert ("truncated" if fault == "truncated" else "leaves the tree") in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("escaped.py"))
    assert _freeze() == before


def test_the_plan_is_made_once_per_attempt_and_the_options_stay_the_users(cache):
    """One plan for a build; one more for the remedy after a compiler OOM; the user's options unchanged."""
    from mmbuild.build.wheel import build_wheel as real_build

    calls = []

    def counting_planner(envs, opts, *, names=None, patch_digests=None):
        calls.append(opts)
        return fake_planner(envs, opts, patch_digests=patch_digests)

    oom_log = (Path(__file__).resolve().parents[1] / "fixtures" / "logs" / "compiler-oom"
               / "captured-cc1plus-sigkill.log").read_text()
    failures = []

    def build_once_out_of_memory(source, out_dir, *, env, log_path, **kw):
        if not failures:
            failures.append(env["MAX_JOBS"])
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(oom_log)
            raise BuildFailedError("the build failed")
        return real_build(source, out_dir, env=env, log_path=log_path, **kw)

    user_options = options(jobs=4)
    report = run(user_options, settings(), command="build", planner=counting_planner,
                 build_wheel=build_once_out_of_memory)
    assert report.cache == "built" and failures == ["4"]
    assert [c.jobs for c in calls] == [4, 2]
    assert user_options == options(jobs=4)
    assert report.plan["max_jobs"] == 2


def test_a_cache_hit_plans_once(cache):
    calls = []

    def counting_planner(envs, opts, *, names=None, patch_digests=None):
        calls.append(opts)
        return fake_planner(envs, opts, patch_digests=patch_digests)

    run(options(), settings(), command="build")
    hit = run(options(), settings(), command="build", planner=counting_planner)
    assert hit.cache == "hit" and len(calls) == 1


def test_work_folders_of_runs_that_died_are_swept_by_the_next_run(cache):
    """A run killed with SIGKILL leaves its work folder; the next run removes it, not a live run's."""
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    killed.kill()
    killed.wait()
    dead = cache / "work" / f"20261130-000000-{killed.pid}"
    live = cache / "work" / f"20261130-000001-{os.getppid()}"
    for folder in (dead / "src", live):
        folder.mkdir(parents=True)
    run(options(), settings(), command="build")
    assert not dead.exists() and live.is_dir()

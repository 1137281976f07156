"""The build stage for real on a tiny mmcv-shaped tree: wheel, log, compile error, SIGINT."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mmbuild.build.progress import NinjaProgress
from mmbuild.build.wheel import BuildInterrupted, build_wheel
from mmbuild.diagnose.summary import summarise_failure
from mmbuild.errors import EXIT_BUILD_FAILED, BuildFailedError

pytest.importorskip("torch")
FAKE_TREE = Path(__file__).resolve().parents[1] / "fixtures" / "build" / "fake_mmcv"
BASE_ENV = {"MMCV_WITH_OPS": "1", "MAX_JOBS": "1", "TORCH_NO_COMPILER_WRAPPER": "1"}


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "src"
    shutil.copytree(FAKE_TREE, root)
    return root


class _Recorder:
    def __init__(self):
        self.lines = []

    def feed(self, line):
        self.lines.append(line)

    def close(self):
        pass


def test_builds_a_wheel_with_ninja_and_keeps_the_log(tree, tmp_path):
    recorder = _Recorder()
    result = build_wheel(tree, tmp_path / "out", env=BASE_ENV, log_path=tmp_path / "build.log",
                         progress=recorder)
    assert result.wheel.parent == tmp_path / "out" and result.wheel.name.startswith("mmcv-2.2.0-")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [result.wheel.name]
    log = (tmp_path / "build.log").read_text()
    assert "--no-build-isolation" in log.splitlines()[0]
    assert any(line.strip().startswith("[1/1]") for line in recorder.lines)


def test_a_compile_error_fails_with_exit_4_and_the_error_line(tree, tmp_path):
    source = tree / "mmcv" / "ops" / "csrc" / "probe_op.cpp"
    source.write_text(source.read_text().replace("PyLong_FromLong(42)", "PyLong_FromLong(not_declared_here)"))
    with pytest.raises(BuildFailedError) as err:
        build_wheel(tree, tmp_path / "out", env=BASE_ENV, log_path=tmp_path / "build.log",
                    progress=NinjaProgress(interactive=False))
    assert err.value.exit_code == EXIT_BUILD_FAILED
    assert str(tmp_path / "build.log") in err.value.message
    assert list((tmp_path / "out").iterdir()) == []
    summary = summarise_failure((tmp_path / "build.log").read_text())
    assert "not_declared_here" in summary.excerpt and "error" in summary.excerpt


DRIVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from mmbuild.build.wheel import build_wheel, BuildInterrupted
    from mmbuild.build.progress import NinjaProgress
    tree, out, log, cxx = map(Path, sys.argv[1:5])
    env = {"MMCV_WITH_OPS": "1", "MAX_JOBS": "1", "TORCH_NO_COMPILER_WRAPPER": "1", "CXX": str(cxx)}
    try:
        build_wheel(tree, out, env=env, log_path=log, progress=NinjaProgress(interactive=False))
    except BuildInterrupted as exc:
        print(exc.message, flush=True)
        sys.exit(exc.exit_code)
""")


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_compilers_and_leaves_no_output(tree, tmp_path, signum, code):
    pid_file = tmp_path / "compiler.pid"
    slow_cxx = tmp_path / "slow-g++"
    slow_cxx.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case " $* " in *" -c "*) echo $$ > {pid_file}; sleep 120;; esac
        exec g++ "$@"
        """))
    slow_cxx.chmod(0o755)
    out = tmp_path / "out"
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(tree), str(out), str(tmp_path / "b.log"),
                             str(slow_cxx)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TMPDIR": str(system_tmp)})
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the compiler never started"
        time.sleep(0.1)
    compiler_pid = int(pid_file.read_text())
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, output
    assert "partial output removed" in output
    assert _gone(compiler_pid), f"the compiler outlived the build: {_describe(compiler_pid)}"
    assert not out.exists() or list(out.iterdir()) == []
    assert list(system_tmp.iterdir()) == [], "pip's temporary folders were left behind"


def _gone(pid: int, wait_s: float = 10.0) -> bool:
    """True once ``pid`` has exited (a zombie not yet reaped by its new parent counts as exited)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def test_interrupted_error_exit_codes():
    assert BuildInterrupted(signal.SIGINT).exit_code == 130
    assert BuildInterrupted(signal.SIGTERM).exit_code == 143


def _describe(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        return f"{cmd} | {stat}"
    except OSError as exc:
        return str(exc)

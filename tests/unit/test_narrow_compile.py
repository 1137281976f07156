"""The compile wrapper of narrowed units (build/narrow_compile.py), run with the real g++."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmbuild.build.narrow_compile import FALLBACK_NOTE, describe_fallbacks, unit_source, wrapper_command
from mmbuild.build.narrow_includes import NARROW_DEFINE, narrow_header_of

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")

# Narrow, the unit misses a declaration (as a unit using Tensor operators misses them); full, it has it.
UNIT = f"""#ifndef {NARROW_DEFINE}
int declared_only_in_full(int x) {{ return x; }}
#endif
int f() {{ return declared_only_in_full(1); }}
"""


def _compile(tmp_path: Path, text: str, narrowed: bool = True) -> subprocess.CompletedProcess:
    source = tmp_path / "unit.cpp"
    source.write_text(text, encoding="utf-8")
    if narrowed:
        narrow_header_of(source).write_text(f"#define {NARROW_DEFINE}\n", encoding="utf-8")
    command = wrapper_command(["g++"])
    return subprocess.run(f"{command} -c {source} -o {tmp_path / 'unit.o'}", shell=True,   # as ninja runs it
                          capture_output=True, text=True)


def test_a_unit_that_fails_narrow_compiles_as_it_was_and_says_so(tmp_path: Path) -> None:
    done = _compile(tmp_path, UNIT)
    assert done.returncode == 0, done.stderr
    assert f"mmbuild: unit.cpp {FALLBACK_NOTE}" in done.stderr
    assert "error" not in done.stderr            # the narrow try's errors are not shown
    symbols = subprocess.run(["nm", str(tmp_path / "unit.o")], capture_output=True, text=True).stdout
    assert "declared_only_in_full" in symbols


def test_a_unit_that_compiles_narrow_is_not_compiled_twice(tmp_path: Path) -> None:
    done = _compile(tmp_path, UNIT.replace("return declared_only_in_full(1)", "return 1"))
    assert done.returncode == 0 and done.stderr == ""
    symbols = subprocess.run(["nm", str(tmp_path / "unit.o")], capture_output=True, text=True).stdout
    assert "declared_only_in_full" not in symbols


def test_a_unit_that_fails_both_ways_fails_with_the_full_compile_errors(tmp_path: Path) -> None:
    done = _compile(tmp_path, UNIT + "int broken = ;\n")
    assert done.returncode != 0 and FALLBACK_NOTE in done.stderr
    assert done.stderr.count("error:") == 1 and "int broken = ;" in done.stderr


def test_units_without_the_prelude_and_other_commands_pass_through(tmp_path: Path) -> None:
    done = _compile(tmp_path, UNIT, narrowed=False)
    assert done.returncode == 0 and done.stderr == ""
    assert unit_source(["-shared", "a.o", "-o", "x.so"]) is None
    assert unit_source(["-c", "a.cu", "-o", "a.o"]) == Path("a.cu")


def test_the_build_step_counts_the_units_that_fell_back() -> None:
    log = (f"  [3/9] nvcc ...\nmmbuild: voxelization_cuda.cu {FALLBACK_NOTE}\n"
           f"  mmbuild: iou3d_cuda.cu {FALLBACK_NOTE}\nmmbuild: voxelization_cuda.cu {FALLBACK_NOTE}\n")
    assert describe_fallbacks(log) == ("; narrow includes: 2 unit(s) compiled as they were "
                                       "(iou3d_cuda.cu, voxelization_cuda.cu)")
    assert describe_fallbacks("nothing\n") == "; narrow includes: no unit fell back"


def test_the_wrapper_command_runs_this_python_and_names_the_nvcc_behind_it() -> None:
    nvcc = ["sccache", "/usr/local/cuda/bin/nvcc"]
    assert shlex.split(wrapper_command(nvcc)) == [sys.executable, "-m", "mmbuild.build.narrow_compile", *nvcc]

"""The compiler wrapper script (util/wrapper.py): Python only for a compile, anything else as it is."""

from __future__ import annotations

import os
import subprocess

from mmbuild.util.wrapper import module_script


def _script(tmp_path, before: list[str]) -> str:
    (tmp_path / "recorder.py").write_text("import sys\nprint('module', *sys.argv[1:])\n")
    return module_script(tmp_path / "wrappers", "pch-compile", "recorder", before)


def _run(script: str, *args: str, cwd) -> str:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([script, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          check=True).stdout.strip()


def test_a_compile_goes_through_the_module_and_a_version_query_does_not(tmp_path):
    script = _script(tmp_path, [])                       # as CCACHE_PREFIX: "$@" is the compiler and args
    assert _run(script, "echo", "-c", "unit.cpp", "-o", "unit.o", cwd=tmp_path) == \
        "module echo -c unit.cpp -o unit.o"
    assert _run(script, "echo", "-dumpfullversion", cwd=tmp_path) == "-dumpfullversion"
    assert _run(script, "echo", "-shared", "a.o", "-o", "a b.so", cwd=tmp_path) == "-shared a.o -o a b.so"


def test_the_words_before_the_arguments_run_in_both_cases(tmp_path):
    script = _script(tmp_path, ["echo", "my cc"])         # as CXX: the cache tool and the compiler first
    assert _run(script, "-c", "u.cpp", cwd=tmp_path) == "module echo my cc -c u.cpp"
    assert _run(script, "-v", cwd=tmp_path) == "my cc -v"
    assert _run(script, "-DX=-c", cwd=tmp_path) == "my cc -DX=-c"     # -c only as an argument of its own

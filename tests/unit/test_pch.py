"""The precompiled-header wrapper with the real g++ on a small tree shaped like mmcv's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pch_wrapper import GXX, defined_symbols, needs_gxx, run_wrapper, write_helpers

from mmbuild.build.pch import (
    COMMON,
    PchFiles,
    is_cxx_compile,
    origin_file,
    pch_build_args,
    pch_env,
    prepare_pch,
    starts_with_helper,
)
from mmbuild.build.pch_store import KEEP, parse_depfile

HELPER = "#ifndef PYTORCH_CPP_HELPER\n#define PYTORCH_CPP_HELPER\n#include <map>\n#include <string>\n" \
         "#include <vector>\n#endif\n"
UNIT = '// unit\n#include "pytorch_cpp_helper.hpp"\n#include "pytorch_device_registry.hpp"\n' \
       "int unit() { std::vector<int> v{1, 2}; std::set<int> s; return int(v.size() + s.size()); }\n"


def _tree(root: Path) -> Path:
    write_helpers(root, HELPER)
    (root / "unit.cpp").write_text(UNIT)
    (root / "other.cpp").write_text("#include <vector>\nint other() { return 1; }\n")
    return root


def _compile(root: Path, files: PchFiles, unit: str, extra_env: dict | None = None,
             flags: tuple[str, ...] = ("-O2", "-fPIC")) -> subprocess.CompletedProcess:
    return run_wrapper(root, files, unit, f"{unit}.o", flags, extra_env)


def test_the_pch_is_built_with_the_units_own_options():
    files = PchFiles(Path("/t/common/mmbuild_pch.hpp"), Path("/t/common/pytorch_cpp_helper.hpp.gch"))
    args = ["-MMD", "-MF", "x.o.d", "-O3", "-g", "-fPIC", "-DA=1", "-I/t/common", "-c", "/t/x.cpp", "-o",
            "/t/x.o", "-std=c++20"]
    assert pch_build_args(args, files, Path("/t/out.tmp")) == [
        "-O3", "-g", "-fPIC", "-DA=1", "-I/t/common", "-std=c++20", "-MMD", "-MF",
        "/t/common/pytorch_cpp_helper.hpp.gch.d", "-x", "c++-header", "/t/common/mmbuild_pch.hpp", "-o",
        "/t/out.tmp"]
    assert is_cxx_compile(args) and not is_cxx_compile(["-shared", "a.o", "-o", "_ext.so"])
    assert not is_cxx_compile(["-c", "kernel.cu", "-o", "kernel.o"])


def test_a_tree_without_mmcvs_helpers_gets_no_pch(tmp_path):
    assert prepare_pch(tmp_path) is None


@needs_gxx
def test_units_use_the_pch_and_their_dependency_files_still_list_its_headers(tmp_path):
    root = _tree(tmp_path)
    files = prepare_pch(root)
    done = _compile(root, files, "unit.cpp", flags=("-O2", "-fPIC", "-H"))
    assert done.returncode == 0, done.stderr
    assert files.output.is_file()
    assert f"! {files.output}" in done.stderr          # -H: the precompiled header was used
    deps = (root / "unit.cpp.o.d").read_text()
    assert "pytorch_cpp_helper.hpp" in deps and "pytorch_device_registry.hpp" in deps
    other = _compile(root, files, "other.cpp")
    assert other.returncode == 0 and "invalid" not in other.stderr


@needs_gxx
def test_a_unit_that_starts_elsewhere_gets_the_pch_forced_in_front(tmp_path):
    root = _tree(tmp_path)
    files = prepare_pch(root)
    assert _compile(root, files, "unit.cpp").returncode == 0            # builds the .gch
    other = _compile(root, files, "other.cpp", flags=("-O2", "-fPIC", "-H"))
    assert other.returncode == 0, other.stderr
    assert f"! {files.output}" in other.stderr                          # -H: the .gch served it
    assert "pytorch_cpp_helper.hpp" in (root / "other.cpp.o.d").read_text()
    plain = subprocess.run([GXX, "-O2", "-fPIC", "-c", "other.cpp", "-o", "plain.o"], cwd=root)
    assert plain.returncode == 0
    assert defined_symbols(root / "other.cpp.o") == defined_symbols(root / "plain.o") == ["_Z5otherv"]


@needs_gxx
def test_a_unit_that_does_not_compile_with_the_pch_forced_in_front_compiles_as_it_is(tmp_path):
    root = _tree(tmp_path)
    files = prepare_pch(root)
    (root / "clash.cpp").write_text("// the helper's guard macro as a name\n#include <vector>\n"
                                    "int PYTORCH_CPP_HELPER = 3;\n")
    done = _compile(root, files, "clash.cpp")
    assert done.returncode == 0, done.stderr
    assert "compiling it as it is" in done.stderr and "error" not in done.stderr
    assert (root / "clash.cpp.o").is_file()


def test_the_first_include_is_read_past_comments(tmp_path):
    unit = tmp_path / "u.cpp"
    unit.write_text('// #include <vector>\n/* #include <map> */\n#include "pytorch_cpp_helper.hpp"\n')
    assert starts_with_helper(unit)
    unit.write_text('// Copyright\n#include <ATen/ATen.h>\n#include "pytorch_cpp_helper.hpp"\n')
    assert not starts_with_helper(unit)


@needs_gxx
def test_a_unit_with_other_options_is_told_the_pch_does_not_fit(tmp_path):
    root = _tree(tmp_path)
    files = prepare_pch(root)
    assert _compile(root, files, "unit.cpp").returncode == 0
    changed = _compile(root, files, "unit.cpp", flags=("-O2", "-fPIC", "-DCHANGED=1", "-fno-exceptions"))
    assert changed.returncode == 0
    assert "not used because" in changed.stderr or "invalid" in changed.stderr.lower()


@needs_gxx
def test_a_pch_that_fails_to_build_is_recorded_once_and_units_still_compile(tmp_path):
    root = _tree(tmp_path)
    files = prepare_pch(root)
    (root / COMMON / "pytorch_device_registry.hpp").write_text("#error broken\n")
    (root / "unit.cpp").write_text('#include "pytorch_cpp_helper.hpp"\nint unit() { return 2; }\n')
    first = _compile(root, files, "unit.cpp")
    assert first.returncode == 0 and "precompiled header not built" in first.stderr
    assert files.output.with_name(files.output.name + ".failed").is_file() and not files.output.exists()
    second = _compile(root, files, "unit.cpp")
    assert second.returncode == 0 and "precompiled header" not in second.stderr


def test_with_ccache_it_runs_only_on_a_miss_and_keeps_the_users_settings(tmp_path):
    files = PchFiles(tmp_path / "s.hpp", tmp_path / "o.gch")
    env = pch_env(files, cache_kind="ccache", cache_tool="/usr/bin/ccache", cxx="/usr/bin/g++",
                  wrapper_dir=tmp_path / "w", user_env={"CCACHE_SLOPPINESS": "include_file_mtime"})
    assert env["CCACHE_PREFIX"] == str(tmp_path / "w" / "pch-compile") and "CXX" not in env
    assert env["CCACHE_SLOPPINESS"] == "include_file_mtime,pch_defines,time_macros,include_file_ctime"
    plain = pch_env(files, cache_kind="none", cache_tool=None, cxx="/usr/bin/g++", wrapper_dir=tmp_path / "n",
                    user_env={})
    script = Path(plain["CXX"]).read_text()
    assert "-m mmbuild.build.pch /usr/bin/g++" in script


def _store_compile(root: Path, store: Path, flags: tuple[str, ...] = ("-O2", "-fPIC")):
    files = prepare_pch(root)
    done = _compile(root, files, "unit.cpp", extra_env={"MMBUILD_PCH_STORE": str(store)},
                    flags=(*flags, "-H"))
    assert done.returncode == 0, done.stderr
    assert f"! {files.output}" in done.stderr          # the unit used the precompiled header
    return files, origin_file(files.output).read_text().split()[0]


@needs_gxx
def test_a_stored_pch_is_reused_by_the_next_tree_and_keeps_its_paths_valid(tmp_path):
    store = tmp_path / "store"
    first, how = _store_compile(_tree(tmp_path / "a"), store)
    assert how == "built"
    (entry,) = [p for p in store.iterdir() if p.is_dir()]
    assert (entry / "deps.json").is_file()
    shutil.rmtree(tmp_path / "a")                        # the first build's work folder is gone
    second, how = _store_compile(_tree(tmp_path / "b"), store)
    assert how == "reused"
    assert second.output.stat().st_ino == (entry / "pytorch_cpp_helper.hpp.gch").stat().st_ino
    deps = parse_depfile((tmp_path / "b" / "unit.cpp.o.d").read_text())
    assert str(entry / "src" / "pytorch_cpp_helper.hpp") in deps
    assert all((tmp_path / "b" / p).exists() for p in deps)


@needs_gxx
def test_a_stored_pch_is_rebuilt_when_a_header_it_holds_or_a_flag_changes(tmp_path):
    store, outside = tmp_path / "store", tmp_path / "include"
    outside.mkdir()
    (outside / "extra.hpp").write_text("inline int extra() { return 1; }\n")
    flags = ("-O2", "-fPIC", f"-I{outside}")

    def tree(name: str, helper_include: str = "<extra.hpp>") -> Path:
        root = _tree(tmp_path / name)
        (root / COMMON / "pytorch_cpp_helper.hpp").write_text(HELPER.replace(
            "#include <map>", f"#include <map>\n#include {helper_include}"))
        return root

    assert _store_compile(tree("a"), store, flags)[1] == "built"
    assert _store_compile(tree("b"), store, flags)[1] == "reused"
    (outside / "extra.hpp").write_text("inline int extra() { return 2; }\n")
    assert _store_compile(tree("c"), store, flags)[1] == "built"
    assert _store_compile(tree("d"), store, (*flags, "-DOTHER=1"))[1] == "built"
    # A precompiled header that includes a file of the tree itself is used once, never again.
    inner = tree("e", '"local.hpp"')
    (inner / COMMON / "local.hpp").write_text("inline int local() { return 3; }\n")
    assert _store_compile(inner, store, (*flags, f"-I{inner / COMMON}"))[1] == "built"
    again = tree("f", '"local.hpp"')
    (again / COMMON / "local.hpp").write_text("inline int local() { return 3; }\n")
    assert _store_compile(again, store, (*flags, f"-I{again / COMMON}"))[1] == "built"
    assert len([p for p in store.iterdir() if p.is_dir()]) <= KEEP


def test_dependency_files_are_read_with_continuations_and_escaped_spaces():
    text = "x.gch: /a/b.hpp \\\n /c/with\\ space.h /a/b.hpp\\\n /d.h\n/e.h:\n"
    assert parse_depfile(text) == ["/a/b.hpp", "/c/with space.h", "/d.h"]

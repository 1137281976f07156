"""Precompiled torch headers for the C++ units of an mmcv build (GCC).

Almost every C++ unit of mmcv starts with ``#include "pytorch_cpp_helper.hpp"`` (torch/types.h
and most of ATen) and ``pytorch_device_registry.hpp``; compiling those headers is most of each
unit's time. GCC uses ``<header>.gch`` instead of ``<header>`` when it finds one beside it and
the ``#include`` comes before any C token, provided the precompiled header was built with the
same options; ``-Winvalid-pch`` makes a mismatch loud. Units that start with anything else
compile as before.

How it is wired (:func:`pch_env`):

- The pipeline writes ``mmbuild_pch.hpp`` (the two headers) into the source tree's
  ``mmcv/ops/csrc/common``; the ``.gch`` goes beside ``pytorch_cpp_helper.hpp`` and goes away with
  the work folder (with a store, the store keeps its own copy).
- The ``.gch`` is built lazily by the first C++ unit that is really compiled, from that unit's
  own command line (so its flags are exactly the units' flags: standard, defines, include dirs,
  ``-fPIC``, ABI, ``-O``/``-g``), under a file lock; the other jobs wait for it. Link commands
  and other compilers pass through untouched.
- With a store (``MMBUILD_PCH_STORE``, the pipeline's ``<cache>/pch``) the ``.gch`` is kept between
  builds, keyed by the compiler, those flags and the headers' content (``pch_store.py``), and
  linked into the tree: a later build with the same torch and flags builds none.
- With ccache, this module is ccache's ``CCACHE_PREFIX``: it runs only on a cache miss, so a
  rebuild whose units all hit builds no ``.gch``. The ``.gch`` is built with ``-MMD`` and the
  units with ``-fpch-deps``, so each unit's dependency file still lists every header the
  ``.gch`` holds, which ccache's depend mode records: a changed torch or mmcv header still
  misses. The store's copies of those headers are new when the first units compile, so ccache is
  told not to refuse headers newer than the compile (``include_file_mtime``/``_ctime``);
  otherwise the units that wait for the ``.gch`` miss once more on the next build. Without
  ccache (or with sccache) it wraps the compiler (``CXX``) itself.
- A ``.gch`` that fails to build is recorded once (``<gch>.failed``); every unit then compiles
  without it.
- A unity unit (build/unity.py) is compiled here as one, or unit by unit where that fails
  (build/unity_compile.py); it starts with the helper, so it uses the ``.gch`` like any unit.

MSVC (designed, not wired; the plan turns it off on Windows). cl has the same mechanism: ``/Yc``
creates ``/Fp<file>.pch`` once, ``/Yu`` uses it per unit, and a mismatch of options is an error
(C2855/C2858), the equivalent of ``-Winvalid-pch``. Three differences shape the design:

- torch's Windows build runs ``cl`` from PATH, not ``CXX``, so the hook is a ``cl.exe`` launcher in
  a folder put first on the build's PATH (a console-script executable, since ninja starts
  programs without a shell), which builds the ``.pch`` from the first unit's own flags under the
  same lock as here and then adds ``/Yu`` to each unit.
- A ``/Yu`` unit whose first include is not the named header is an error (C2857), not a silent
  fallback, so ``/Yu`` goes only to units whose first include is ``pytorch_cpp_helper.hpp`` (read
  with the C++ source reader the op subset uses); the others compile as before.
- Debug info: with ``/Zi`` every ``/Yu`` unit must use the PDB the ``.pch`` was made with (C2859);
  with ``/Z7`` (in the object) there is no shared PDB. And whether sccache caches ``/Yu`` units is
  to be measured on Windows: the plan would pick the precompiled header for cold builds only where
  it does not cost the compiler cache.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mmbuild.errors import EXIT_EXEC_FAILED, EXIT_OK
from mmbuild.subset.cxx import includes
from mmbuild.util.argv import drop_options
from mmbuild.util.wrapper import compiled_source, compiles, module_script, split_compiler

COMMON = Path("mmcv/ops/csrc/common")
HEADERS = ("pytorch_cpp_helper.hpp", "pytorch_device_registry.hpp")
SOURCE_NAME = "mmbuild_pch.hpp"
CXX_SUFFIXES = (".cpp", ".cc", ".cxx", ".c++")
UNIT_FLAGS = ("-fpch-deps", "-Winvalid-pch")
ENV_SOURCE = "MMBUILD_PCH_SOURCE"
ENV_OUTPUT = "MMBUILD_PCH_OUTPUT"
# ccache: the .gch's defines are the units' own; and the headers the .gch holds are copied into
# the store while the first units compile, which ccache would take for a header changed during the
# compile ("too new") and record those units for no later direct-mode hit.
CCACHE_SLOPPINESS = ("pch_defines", "time_macros", "include_file_mtime", "include_file_ctime")
ENV_STORE = "MMBUILD_PCH_STORE"           # optional: keep .gch files between builds (pch_store.py)
# Options that name the unit's inputs and outputs rather than how it is compiled.
_WITH_VALUE = {"-o", "-MF", "-MT", "-MQ"}
_ALONE = {"-c", "-MMD", "-MD", "-MP"}


@dataclass(frozen=True)
class PchFiles:
    source: Path      # the header to precompile (includes HEADERS)
    output: Path      # <common>/pytorch_cpp_helper.hpp.gch


def pch_output(tree: Path) -> Path:
    """Where the ``.gch`` of ``tree`` goes: beside the first header, where GCC looks for it."""
    return tree / COMMON / f"{HEADERS[0]}.gch"


def prepare_pch(tree: Path) -> PchFiles | None:
    """Write the header to precompile into ``tree``; None when the tree lacks mmcv's helpers."""
    common = tree / COMMON
    if not all((common / name).is_file() for name in HEADERS):
        return None
    source = common / SOURCE_NAME
    source.write_text("// Precompiled by mmbuild for every unit that starts with these includes.\n"
                      + "".join(f'#include "{name}"\n' for name in HEADERS), encoding="utf-8")
    return PchFiles(source, pch_output(tree))


def wrapper_script(folder: Path, *, before: list[str] | None = None) -> str:
    """A script that runs ``python -m mmbuild.build.pch [before...] <compiler> <args>``."""
    return module_script(folder, "pch-compile", "mmbuild.build.pch", before or [])


def pch_env(files: PchFiles, *, cache_kind: str, cache_tool: str | None, cxx: str, wrapper_dir: Path,
            user_env: dict[str, str], store: Path | None = None) -> dict[str, str]:
    """The build variables that put the precompiled header in front of the C++ compiler."""
    env = {ENV_SOURCE: str(files.source), ENV_OUTPUT: str(files.output)}
    if store is not None:
        env[ENV_STORE] = str(store)
    if cache_kind == "ccache":
        prefix = user_env.get("CCACHE_PREFIX")
        env["CCACHE_PREFIX"] = wrapper_script(wrapper_dir) + (f" {prefix}" if prefix else "")
        sloppiness = [s for s in user_env.get("CCACHE_SLOPPINESS", "").split(",") if s]
        env["CCACHE_SLOPPINESS"] = ",".join(dict.fromkeys([*sloppiness, *CCACHE_SLOPPINESS]))
    else:
        before = [cache_tool] if cache_kind == "sccache" and cache_tool else []
        env["CXX"] = wrapper_script(wrapper_dir, before=[*before, cxx])
    return env


def is_cxx_compile(args: list[str]) -> bool:
    """Whether ``args`` (after the compiler) compile one C++ source to an object."""
    return compiled_source(args, CXX_SUFFIXES) is not None


def unit_flags(args: list[str]) -> list[str]:
    """A unit's arguments less those that name its source, object and dependency file."""
    return drop_options(args, _WITH_VALUE, _ALONE,
                        also=lambda arg: arg.endswith(CXX_SUFFIXES) and not arg.startswith("-"))


def pch_build_args(args: list[str], files: PchFiles, tmp_output: Path) -> list[str]:
    """A unit's arguments turned into the ones that build the ``.gch`` with the same options."""
    deps = files.output.with_name(files.output.name + ".d")
    return [*unit_flags(args), "-MMD", "-MF", str(deps), "-x", "c++-header", str(files.source), "-o",
            str(tmp_output)]


def tree_of(files: PchFiles) -> Path:
    """The source tree whose ``COMMON`` folder holds ``files.source``."""
    tree = files.source.parent
    for _ in COMMON.parts:
        tree = tree.parent
    return tree


def _build_in_tree(compiler: list[str], args: list[str], files: PchFiles) -> str | None:
    """Build the ``.gch`` beside the tree's header; None, or the compiler's error output."""
    tmp = files.output.with_name(f"{files.output.name}.{os.getpid()}.tmp")
    done = subprocess.run([*compiler, *pch_build_args(args, files, tmp)], capture_output=True, text=True)
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        return done.stderr or f"exit {done.returncode}"
    os.replace(tmp, files.output)
    return None


def _from_store(store_root: Path, compiler: list[str], args: list[str], files: PchFiles) -> str | None:
    """Reuse or build the store's entry for these flags and headers and place it; None, or the error."""
    from mmbuild.build.pch_store import PchStore, entry_key, place

    store = PchStore(store_root)
    tree = tree_of(files).resolve()
    headers = [files.source.parent / name for name in HEADERS]
    flags = unit_flags(args)
    key = entry_key(compiler[0], flags, tree, headers, dict(os.environ))
    with store.locked(key):
        gch, origin = store.valid_gch(key), "reused"
        if gch is None:
            gch, error = store.build(key, compiler, flags, tree, headers)
            if gch is None:
                return error or "the compiler wrote no .gch"
            origin = "built"
        place(gch, files.output)
        origin_file(files.output).write_text(f"{origin} {gch.parent}\n", encoding="utf-8")
    store.prune()
    return None


def origin_file(gch: Path) -> Path:
    """Where the wrapper notes whether the ``.gch`` was built or reused from the store, and which."""
    return gch.with_name(gch.name + ".origin")


def describe_pch(tree: Path) -> str:
    """What the precompiled header cost on disk and where it came from, while the tree still holds it."""
    gch = pch_output(tree)
    if not gch.is_file():
        return "; precompiled header not built (no unit compiled, or see the log)"
    origin = origin_file(gch)
    how = origin.read_text(encoding="utf-8").split()[0] if origin.is_file() else "built"
    return f"; precompiled header {gch.stat().st_size / 2**20:.0f} MiB ({how})"


def ensure_pch(compiler: list[str], args: list[str], files: PchFiles, store_root: Path | None = None) -> bool:
    """Put the ``.gch`` in place once (locked): from the store when one is given, else built here.
    True when it is there to use."""
    failed = files.output.with_name(files.output.name + ".failed")
    if files.output.is_file():
        return True
    with open(files.output.with_name(files.output.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if files.output.is_file():
            return True
        if failed.exists():
            return False
        if store_root is not None:
            error = _from_store(store_root, compiler, args, files)
        else:
            error = _build_in_tree(compiler, args, files)
        if error is not None:
            failed.write_text(error, encoding="utf-8")
            reason = (error.strip().splitlines() or ["no output"])[-1]
            sys.stderr.write(f"mmbuild: precompiled header not built ({reason}); compiling without it\n")
            return False
        return True


def starts_with_helper(source: Path) -> bool:
    """Whether the unit's first include is mmcv's helper (then GCC uses the ``.gch`` by itself)."""
    try:
        text = source.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True                       # nothing to decide on: compile the unit as it is
    found = includes(text)
    return bool(found) and Path(found[0][1]).name == HEADERS[0]


def unit_source(args: list[str]) -> Path | None:
    return compiled_source(args, CXX_SUFFIXES)


def forced_include(files: PchFiles) -> list[str]:
    """The options that put the helper (and so its ``.gch``) in front of a unit's first line."""
    return ["-include", str(files.output.with_name(HEADERS[0]))]


def _compile_forced(command: list[str], args: list[str], files: PchFiles) -> bool:
    """Compile the unit with the helper forced in front; True when that worked (its output shown)."""
    if compiles([*command, *args, *forced_include(files)]):
        return True
    source = unit_source(args)
    sys.stderr.write(f"mmbuild: {source.name if source else 'a unit'} does not compile with the "
                     "precompiled header forced in front; compiling it as it is\n")
    return False


def main(argv: list[str] | None = None) -> int:
    """``python -m mmbuild.build.pch [cache] <compiler> <args...>``: the wrapper the build runs."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command, args = split_compiler(argv)
    source, output = os.environ.get(ENV_SOURCE), os.environ.get(ENV_OUTPUT)
    if source and output and is_cxx_compile(args):
        files = PchFiles(Path(source), Path(output))
        real_compiler = command[-1:]          # the .gch is built by the compiler itself, uncached
        store = os.environ.get(ENV_STORE)
        ready = ensure_pch(real_compiler, args, files, Path(store) if store else None)
        if ready:
            args = [*args, *UNIT_FLAGS]
        unit = unit_source(args)
        from mmbuild.build.unity import is_unity_unit  # unity.py reads HEADERS from here

        if unit is not None and is_unity_unit(unit):
            from mmbuild.build.unity_compile import compile_unity

            return compile_unity(command, args, unit, forced_include(files) if ready else [])
        forced = ready and unit is not None and not starts_with_helper(unit)
        if forced and _compile_forced(command, args, files):
            return EXIT_OK
    os.execvp(command[0], [*command, *args])
    return EXIT_EXEC_FAILED  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())

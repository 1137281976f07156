"""``mmbuild env``: probe this machine and print the Environment with its findings."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from mmbuild.errors import EXIT_OK
from mmbuild.model.environment import CudaToolkit, Environment
from mmbuild.model.findings import Finding, merge_findings
from mmbuild.probe import probe_environment
from mmbuild.util.console import emit_json, paint, render_findings, table


def plan_findings(env: Environment) -> list[Finding]:
    """The findings of the plan for default options: the checks ``mmbuild plan`` makes, same words."""
    from mmbuild.model.options import BuildOptions
    from mmbuild.plan import make_plan

    return make_plan(env, BuildOptions()).findings


HELP = "probe this machine and print the Environment with findings"
_ORIGINS = {"system": "system", "index": "package index", "redist": "NVIDIA redist"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``env`` takes only the common options (--json, --debug)."""


def run(args) -> int:
    started = time.monotonic()
    env = probe_environment()
    env.findings = merge_findings(env.findings, plan_findings(env))
    if args.json:
        emit_json(env.to_dict())
    else:
        out = sys.stderr
        out.write(render(env, out))
        out.write(paint(f"\nprobed in {time.monotonic() - started:.1f} s\n", "info", out))
    return EXIT_OK


# ---------------------------------------------------------------- the report


def _or_dash(value: object) -> str:
    return "-" if value in (None, "", []) else str(value)


def _arches(arches: list[str]) -> str:
    if not arches:
        return "-"
    if len(arches) <= 6:
        return " ".join(arches)
    return f"{arches[0]} ... {arches[-1]} ({len(arches)} targets)"


def _headers(found: dict[str, str]) -> str:
    """The CUDA headers torch needs, each with where it was found, or 'missing'."""
    from mmbuild.knowledge.torch_facts import cuda_headers_needed

    needed = cuda_headers_needed()
    if not found:
        return "none of " + " ".join(needed)
    dirs = sorted(set(found.values()))
    missing = [h for h in needed if h not in found]
    return "; ".join(dirs) + (f" (missing: {' '.join(missing)})" if missing else "")


def _found_by(toolkit: CudaToolkit) -> str:
    """Where the probe found a toolkit: "found by PATH, distro" (where mmbuild fetched its own from)."""
    if toolkit.origin in _ORIGINS and toolkit.origin != "system":
        return _ORIGINS[toolkit.origin]
    return "found by " + (", ".join(toolkit.found_by) or toolkit.origin)


def _section(title: str, rows: list[tuple[str, ...]], stream: TextIO) -> str:
    body = table(rows) if rows else "  -"
    return f"{paint(title, 'bold', stream)}\n{body}\n"


def render(env: Environment, stream: TextIO) -> str:
    """The whole report as text: one screen, sections, findings last."""
    parts = []
    os_name = f"{env.os.system} {env.os.release} {env.os.machine}"
    if env.os.distro:
        os_name += f" ({env.os.distro} {env.os.distro_version or ''})".rstrip()
    memory = env.memory
    mem = "-" if memory.total_mib is None else f"{memory.total_mib / 1024:.1f} GiB"
    if memory.available_mib is not None:
        mem += f", {memory.available_mib / 1024:.1f} GiB available"
    parts.append(_section("System", [
        ("OS", os_name), ("Python", f"{env.python.version}  {env.python.executable}"),
        ("CPUs", str(env.cpus)), ("Memory", mem)], stream))

    t = env.torch
    torch_rows = [("torch", "not importable")] if t is None else [
        ("version", t.version), ("built with CUDA", _or_dash(t.cuda)),
        ("C++11 ABI", _or_dash(t.cxx11_abi)), ("arch list", _arches(t.arch_list)),
        ("CUDA usable", "yes" if t.cuda_available else "no"),
        ("THC headers", _or_dash(t.thc_headers)), ("path", _or_dash(t.path))]
    if t is not None and t.cuda:
        torch_rows.append(("CUDA library headers", _headers(t.cuda_library_headers)))
    parts.append(_section("PyTorch", torch_rows, stream))

    parts.append(_section("CUDA toolkits", [
        (tk.home, f"CUDA {_or_dash(tk.version)}", _found_by(tk),
         _arches(tk.arches),
         "library headers: " + ("-" if tk.library_headers is None else _headers(tk.library_headers)))
        for tk in env.cuda_toolkits], stream))

    gpu_rows = [(f"GPU {g.index}", g.name, f"sm {_or_dash(g.capability)}",
                 "-" if g.memory_mib is None else f"{g.memory_mib} MiB",
                 "-" if g.multiprocessors is None else f"{g.multiprocessors} SMs") for g in env.gpus]
    gpu_rows.append(("driver", env.driver.version if env.driver else "none found", "", "", ""))
    parts.append(_section("GPUs", gpu_rows, stream))

    c = env.compilers
    comp_rows = [(("* " if c.cxx and cand.path == c.cxx.path else "  ") + cand.path,
                  cand.kind, _or_dash(cand.version)) for cand in c.candidates]
    if c.msvc:
        comp_rows.append(("  " + _or_dash(c.msvc.path), "msvc",
                          f"{_or_dash(c.msvc.version)} (_MSC_VER {_or_dash(c.msvc.msc_ver)}, "
                          f"VS {_or_dash(c.msvc.vs_version)})"))
    parts.append(_section("Host compilers (* = used)", comp_rows, stream))

    installed = ", ".join(f"{name} {version}" for name, version in env.packages.items() if version)
    tool_rows = [("ninja", env.ninja.version if env.ninja else "not found"), ("installed", installed or "-")]
    if env.compiler_farm is not None:
        farm = env.compiler_farm
        tool_rows.insert(1, ("compiler farm", f"sccache-dist {farm.scheduler}: {farm.servers} servers, "
                                              f"{farm.cpus} CPUs"))
    tool_rows += [(f"{d.package} {d.version}",
                   f"declares mmcv {_or_dash(d.mmcv_min)} .. {_or_dash(d.mmcv_max)}")
                  for d in env.downstream_constraints]
    parts.append(_section("Tools and packages", tool_rows, stream))

    set_vars = [(name, value) for name, value in env.env_vars.items() if value is not None]
    parts.append(_section("Build variables set", set_vars, stream))

    parts.append(_findings(env.findings, stream))
    return "\n".join(parts)


def _findings(findings: list[Finding], stream: TextIO) -> str:
    title = paint(f"Findings ({len(findings)})", "bold", stream)
    if not findings:
        return f"{title}\n  {paint('none', 'ok', stream)}\n"
    return "\n".join([title, *render_findings(findings, stream)]) + "\n"

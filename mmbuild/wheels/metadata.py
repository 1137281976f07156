"""Build metadata embedded in the built package as ``mmcv/_mmbuild.json``.

It records what a binary was built for (fingerprint, plan, torch/CUDA/compiler versions,
arches, patches, ops) so ``mmbuild verify`` and users can compare it with what runs.

The file is added to the wheel after the build rather than to the source tree before it:
mmcv's setup.py differs between versions in what data it packages, while a wheel is a
zip with a RECORD whose format is fixed (PEP 376/427). The wheel is rewritten into a new
file with the extra member and a regenerated RECORD, then moved over the original.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from mmbuild import __version__
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.identity import BuildIdentity
from mmbuild.util.fileio import replacing
from mmbuild.wheels.local_version import labelled_version, local_label

METADATA_MEMBER = "mmcv/_mmbuild.json"


def build_metadata(plan: BuildPlan, env: Environment, *, patches: list[str] | None = None,
                   source_sha256: str | None = None, compiler_cache: str | None = None) -> dict:
    """The document stored as ``mmcv/_mmbuild.json`` (keys read by verify)."""
    identity = BuildIdentity.for_build(env, plan.target, plan.arch_list).metadata()
    compiler = _compiler_for(plan, env)
    toolkit = plan.toolchain.toolkit if plan.toolchain else None
    return {
        "schema": 1,
        "mmbuild_version": __version__,
        "fingerprint": plan.fingerprint,
        "package": plan.mmcv.package,
        "version": plan.mmcv.version,
        "wheel_version": wheel_version_of(plan, env),
        "source_sha256": source_sha256,
        "target": identity["target"],
        "torch": identity["torch"],
        "python": identity["python"],
        "platform": identity["platform"],
        "arch_list": identity["arch_list"],
        "gencode": list(plan.gencode),
        "threads_per_block": plan.threads_per_block,
        "cxx_std": plan.cxx_std,
        "compiler": compiler,
        "cuda_toolkit": ({"home": toolkit.home, "version": toolkit.version} if toolkit
                         else ({"home": plan.cuda_home, "version": None} if plan.cuda_home else None)),
        "compiler_cache": compiler_cache,
        "precompiled_header": plan.pch,
        "narrow_includes": plan.narrow_includes,
        "unity": plan.unity,
        "debug_symbols": plan.debug_symbols,
        "patches": list(patches if patches is not None else plan.patches),
        "ops": list(plan.ops) or "all",
        "built_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "plan": plan.to_dict(),
    }


def wheel_version_of(plan: BuildPlan, env: Environment) -> str:
    """The built wheel's version: the release with its local label (``2.1.0+torch2.13cpu``)."""
    torch = env.torch
    label = local_label(plan.target, torch.version if torch else None, torch.cuda if torch else None)
    return labelled_version(plan.mmcv.version, label)


def _compiler_for(plan: BuildPlan, env: Environment) -> dict | None:
    chosen = plan.host_compiler
    candidates = ([env.compilers.cxx] if env.compilers.cxx else []) + list(env.compilers.candidates)
    for compiler in candidates:
        if chosen is None or os.path.realpath(compiler.path) == os.path.realpath(chosen):
            return {"kind": compiler.kind, "version": compiler.version, "path": compiler.path}
    return {"kind": None, "version": None, "path": chosen} if chosen else None


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def dist_info_dir(names: list[str]) -> str:
    """The one ``<name>-<version>.dist-info`` folder of a wheel's member names."""
    found = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    if len(found) != 1:
        raise ValueError(f"wheel has {len(found)} .dist-info folders")
    return found.pop()


def write_record(target: zipfile.ZipFile, record_name: str, members: list[tuple[str, bytes]]) -> None:
    """Write RECORD for ``members`` (name, content), itself listed last without a hash (PEP 376)."""
    rows = [[name, _record_hash(data), str(len(data))] for name, data in members]
    rows.append([record_name, "", ""])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    record_info = zipfile.ZipInfo(record_name, date_time=_now_zip())
    record_info.external_attr = 0o644 << 16
    record_info.compress_type = zipfile.ZIP_DEFLATED
    target.writestr(record_info, buffer.getvalue())


def embed_in_wheel(wheel: Path, member: str, data: bytes) -> None:
    """Add (or replace) ``member`` in ``wheel``, regenerating RECORD; atomic replace."""
    with replacing(wheel) as tmp, zipfile.ZipFile(wheel) as source, \
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as target:
        names = source.namelist()
        record_name = f"{dist_info_dir(names)}/RECORD"
        rows: list[tuple[str, bytes]] = []
        for info in source.infolist():
            if info.filename in (record_name, member):
                continue
            content = source.read(info)
            target.writestr(info, content)
            if not info.is_dir():
                rows.append((info.filename, content))
        member_info = zipfile.ZipInfo(member, date_time=_now_zip())
        member_info.external_attr = 0o644 << 16
        member_info.compress_type = zipfile.ZIP_DEFLATED
        target.writestr(member_info, data)
        rows.append((member, data))
        write_record(target, record_name, rows)


def _now_zip() -> tuple[int, int, int, int, int, int]:
    now = datetime.now()
    return (max(now.year, 1980), now.month, now.day, now.hour, now.minute, now.second)


def read_wheel_metadata(wheel: Path) -> dict | None:
    """The embedded build metadata of a wheel, if it has some."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            return json.loads(archive.read(METADATA_MEMBER))
        except KeyError:
            return None

"""Parse GPU arch lists: ``--arch`` and TORCH_CUDA_ARCH_LIST, as torch's extension builder reads them.

Accepted entries, separated by ``,``, ``;`` or spaces: ``8.6``, ``86``, ``sm_86``, ``compute_86``,
``8.6+PTX``, ``9.0a``, and the names torch knows (``Ampere``, ``Hopper``, ``Kepler+Tesla``, ...).
Anything else is a usage error naming the bad entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmbuild.errors import UsageError
from mmbuild.knowledge import cuda as cuda_facts
from mmbuild.knowledge import torch_facts
from mmbuild.knowledge.arch import Arch


@dataclass(frozen=True)
class ArchSpec:
    """One arch of the list: ``arch`` is ``"8.6"`` or ``"9.0a"``; ``ptx`` embeds PTX for it too."""

    arch: str
    ptx: bool = False

    @property
    def base(self) -> str:
        return str(Arch.parse(self.arch).base)

    @property
    def key(self) -> tuple[int, int]:
        return Arch.parse(self.arch).key

    def __str__(self) -> str:
        return f"{self.arch}+PTX" if self.ptx else self.arch


def parse_arch_list(text: str, torch_version: str | None = None, source: str = "--arch") -> list[ArchSpec]:
    """Every arch ``text`` names, oldest first, without duplicates (PTX kept if any entry asks)."""
    entries = [e for e in re.split(r"[,;\s]+", text.strip()) if e]
    if not entries:
        raise UsageError(
            f"{source} is empty", fix="give arches like 8.6 or 7.5,8.0,9.0, or a name like Ampere"
        )
    names = {name.lower(): value for name, value in torch_facts.arch_names(torch_version).items()}
    specs: list[ArchSpec] = []
    for entry in entries:
        if entry.lower() in names:
            specs += [_parse_entry(e, source, entry) for e in names[entry.lower()].split(";")]
        else:
            specs.append(_parse_entry(entry, source, entry))
    return merge_specs(specs)


def merge_specs(specs: list[ArchSpec]) -> list[ArchSpec]:
    """Sort oldest first and merge duplicates (an arch keeps PTX if any copy had it)."""
    merged: dict[str, bool] = {}
    for spec in specs:
        merged[spec.arch] = merged.get(spec.arch, False) or spec.ptx
    return sorted((ArchSpec(a, p) for a, p in merged.items()), key=lambda s: (s.key, s.arch))


def format_arch_list(specs: list[ArchSpec]) -> str:
    """The TORCH_CUDA_ARCH_LIST spelling: ``8.0;8.6+PTX``."""
    return ";".join(str(s) for s in specs)


def _parse_entry(entry: str, source: str, shown: str) -> ArchSpec:
    text = entry.strip()
    ptx = False
    if text.upper().endswith("+PTX"):
        text, ptx = text[: -len("+PTX")], True
    arch = _to_dotted(text.lower())
    if arch is None or cuda_facts.arch_info(arch) is None:
        raise UsageError(
            f"{source}: {shown!r} is not a CUDA arch",
            fix="use compute capabilities like 8.6, sm_86, 8.6+PTX, 9.0a, or names like Ampere, Hopper",
        )
    if arch.endswith("a") and ptx:
        raise UsageError(
            f"{source}: {shown!r}: an arch-specific 'a' target cannot carry PTX",
            fix=f"use {arch} or {arch.rstrip('a')}+PTX",
        )
    if arch.endswith("a") and cuda_facts.arch_info(arch).variant_a_first is None:
        raise UsageError(
            f"{source}: {shown!r}: compute capability {arch[:-1]} has no 'a' variant", fix=f"use {arch[:-1]}"
        )
    return ArchSpec(arch, ptx)


def _to_dotted(text: str) -> str | None:
    arch = Arch.parse(text)
    return str(arch) if arch and arch.variant in ("", "a") else None

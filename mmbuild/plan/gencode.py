"""Fit an arch list to what the chosen nvcc can target, and spell the ``-gencode`` flags.

The FAQ's fallbacks: an arch newer than nvcc knows builds SASS for the nearest lower arch of the
same major (an RTX 30xx on CUDA 11.0 gets ``-gencode=arch=compute_80,code=sm_80``, which runs on
8.6); with no such arch it gets PTX of the newest arch nvcc knows, JIT-compiled by the driver. An
arch older than nvcc's oldest is an error naming the last toolkit that could build it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge import cuda as cuda_facts
from mmbuild.knowledge.arch import Arch
from mmbuild.model.environment import CudaToolkit
from mmbuild.model.findings import Finding, finding
from mmbuild.plan.arch_list import ArchSpec, merge_specs


@dataclass
class FittedArches:
    specs: list[ArchSpec]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fit_to_toolkit(specs: list[ArchSpec], toolkit: CudaToolkit) -> FittedArches:
    """Replace arches the toolkit cannot target by the FAQ's fallbacks (see the module docstring)."""
    supported = cuda_facts.toolkit_arches(toolkit.version, toolkit.arches)
    if not supported:
        return FittedArches(list(specs))
    keys = {_key(a): a for a in supported}
    fitted = FittedArches([])
    for spec in specs:
        fitted.specs += _fit_one(spec, toolkit, keys, fitted)
    fitted.specs = merge_specs(fitted.specs)
    return fitted


def _fit_one(spec: ArchSpec, toolkit: CudaToolkit, keys: dict, fitted: FittedArches) -> list[ArchSpec]:
    cuda = toolkit.version or "?"
    if spec.base in keys.values():
        if spec.arch.endswith("a") and not _has_variant_a(spec.arch, toolkit):
            fitted.notes.append(f"{spec.arch} -> {spec.base}")
            fitted.findings.append(
                finding("nvcc-arch-unsupported", "warning", message_key="no_variant_a", cuda=cuda,
                        arch_num=_num(spec.arch), base_num=_num(spec.base), arch=spec.arch,
                        first=cuda_facts.arch_info(spec.arch).variant_a_first)
            )
            return [ArchSpec(spec.base, spec.ptx)]
        return [spec]
    oldest, newest = min(keys), max(keys)
    gpus = cuda_facts.gpus_for(spec.base)
    if spec.key < oldest:
        last = cuda_facts.last_toolkit_for(spec.base)
        base_num, oldest_num = _num(spec.base), _num(keys[oldest])
        fitted.findings.append(
            finding("nvcc-arch-unsupported", message_key="too_old_last", cuda=cuda, base_num=base_num,
                    gpus=gpus, oldest_num=oldest_num, base=spec.base, last=last, last_major=last.major)
            if last else
            finding("nvcc-arch-unsupported", message_key="too_old", cuda=cuda, base_num=base_num, gpus=gpus,
                    oldest_num=oldest_num, base=spec.base)
        )
        return []
    lower_same_major = [k for k in keys if k[0] == spec.key[0] and k < spec.key]
    if lower_same_major:
        chosen = keys[max(lower_same_major)]
        fitted.notes.append(f"{spec} -> {chosen} (SASS)")
        base_num, chosen_num = _num(spec.base), _num(chosen)
        first = cuda_facts.first_toolkit_for(spec.base)
        fitted.findings.append(
            finding("nvcc-arch-unsupported", "warning", message_key="sass_fallback_newer", cuda=cuda,
                    base_num=base_num, gpus=gpus, chosen_num=chosen_num, base=spec.base, first=first)
            if first else
            finding("nvcc-arch-unsupported", "warning", message_key="sass_fallback", cuda=cuda,
                    base_num=base_num, gpus=gpus, chosen_num=chosen_num, base=spec.base)
        )
        return [ArchSpec(chosen, spec.ptx)]
    chosen = keys[newest]
    fitted.notes.append(f"{spec} -> {chosen}+PTX (JIT)")
    base_num, chosen_num = _num(spec.base), _num(chosen)
    first = cuda_facts.first_toolkit_for(spec.base)
    fitted.findings.append(
        finding("nvcc-arch-unsupported", "warning", message_key="ptx_fallback_newer", cuda=cuda,
                base_num=base_num, gpus=gpus, chosen_num=chosen_num, base=spec.base, first=first)
        if first else
        finding("nvcc-arch-unsupported", "warning", message_key="ptx_fallback", cuda=cuda,
                base_num=base_num, gpus=gpus, chosen_num=chosen_num)
    )
    return [ArchSpec(chosen, True)]


def gencode_flags(specs: list[ArchSpec]) -> list[str]:
    """nvcc flags for the list, as torch spells them: SASS per arch, plus PTX where asked."""
    flags: list[str] = []
    for spec in specs:
        num = _num(spec.arch)
        flags.append(f"-gencode=arch=compute_{num},code=sm_{num}")
        if spec.ptx:
            flags.append(f"-gencode=arch=compute_{num},code=compute_{num}")
    return flags


def _has_variant_a(arch: str, toolkit: CudaToolkit) -> bool:
    listed = {a.strip().lower() for a in toolkit.arches}
    if any(a.endswith("a") for a in listed):  # a list that shows 'a' variants is complete for them
        return f"sm_{_num(arch)}" in listed
    return cuda_facts.supports_variant_a(arch, toolkit.version)


def _num(arch: str) -> str:
    return Arch.parse(arch).number


def _key(arch: str) -> tuple[int, int]:
    return Arch.parse(arch).key

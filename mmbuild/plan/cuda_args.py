"""The GPU arch list and MMCV_CUDA_ARGS, kept consistent with each other.

Arch list: ``--arch`` > TORCH_CUDA_ARCH_LIST > the arch flags in the user's MMCV_CUDA_ARGS > the
GPUs present (PTX added for the newest, as torch does) > an error: torch's builder crashes with
IndexError on an empty list. mmcv hands MMCV_CUDA_ARGS to nvcc, and torch adds no arch flags of
its own when those args mention "arch", so the ``-gencode`` list below is exactly what nvcc gets;
TORCH_CUDA_ARCH_LIST is set to the same arches for anything else that reads it.

MMCV_CUDA_ARGS is one string; mmcv's patched setup.py (patch ``mmcv-setup-cuda-args``) splits it
as a shell would, POSIX rules except on Windows. ``split_cuda_args`` and ``join_cuda_args`` use
the same rules (the host toolchain's, plan/toolchain/), so every flag reaches nvcc as its own argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge.arch import dotted
from mmbuild.knowledge.gpus import capability_for_name
from mmbuild.model.environment import GPU, Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.plan.arch_list import ArchSpec, merge_specs, parse_arch_list
from mmbuild.plan.toolchain import toolchain_for

_ARCH_FLAGS = ("-gencode", "--generate-code", "-arch", "--gpu-architecture", "-code", "--gpu-code")


@dataclass
class ArchRequest:
    specs: list[ArchSpec]
    source: str
    findings: list[Finding] = field(default_factory=list)


def cuda_arg_tokens(text: str | None, system: str = "Linux") -> list[str]:
    """MMCV_CUDA_ARGS as the separate arguments nvcc gets from the patched setup.py."""
    return toolchain_for(system).split_args(text)


def join_cuda_args(tokens: list[str], system: str = "Linux") -> str:
    """The MMCV_CUDA_ARGS string that ``cuda_arg_tokens`` splits back into ``tokens``."""
    return toolchain_for(system).join_args(tokens)


def split_cuda_args(text: str | None, system: str = "Linux") -> tuple[list[str], list[str]]:
    """The user's MMCV_CUDA_ARGS as (arch flags, other flags)."""
    tokens = cuda_arg_tokens(text, system)
    arch, other = [], []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name = token.split("=", 1)[0]
        if name in _ARCH_FLAGS:
            takes_value = "=" not in token and i + 1 < len(tokens)
            arch += tokens[i : i + 2] if takes_value else [token]
            i += 2 if takes_value else 1
            continue
        other.append(token)
        i += 1
    return arch, other


def specs_from_gencode(flags: list[str]) -> list[ArchSpec]:
    """Arches named by ``-gencode=arch=compute_80,code=sm_80`` style flags (SASS and PTX)."""
    specs: list[ArchSpec] = []
    for flag in flags:
        for part in flag.replace("=", ",").replace("[", ",").replace("]", ",").split(","):
            arch = dotted(part) if part.startswith("sm_") else None
            ptx = dotted(part) if part.startswith("compute_") and f"code={part}" in flag else None
            if arch:
                specs.append(ArchSpec(arch))
            if ptx:
                specs.append(ArchSpec(ptx, True))
    return merge_specs(specs)


def gpu_specs(gpus: list[GPU]) -> tuple[list[ArchSpec], list[Finding]]:
    """One arch per distinct GPU capability (from the name when the report lacks it), PTX on the newest."""
    arches: list[str] = []
    findings: list[Finding] = []
    for gpu in gpus:
        capability = gpu.capability or capability_for_name(gpu.name)
        if capability is None:
            findings.append(
                finding("no-gpu-arch-list", "warning", message_key="unknown_capability", index=gpu.index,
                        gpu=gpu.name)
            )
            continue
        arches.append(capability)
    specs = merge_specs([ArchSpec(a) for a in arches])
    if specs:
        specs[-1] = ArchSpec(specs[-1].arch, True)
    return specs, findings


def arch_request(env: Environment, arch_option: str | None, cpu_only: bool = False) -> ArchRequest | None:
    """The arches asked for, parsed once per plan; None where the build cannot be a CUDA one (torch without
    CUDA, ``--cpu-only``), where a given ``--arch`` is still checked."""
    torch = env.torch
    if cpu_only or torch is None or not torch.cuda:
        if arch_option:
            parse_arch_list(arch_option, torch.version if torch else None)   # reject nonsense all the same
        return None
    return requested_arches(env, arch_option)


def requested_arches(env: Environment, arch_option: str | None) -> ArchRequest:
    torch_version = env.torch.version if env.torch else None
    if arch_option:
        return ArchRequest(parse_arch_list(arch_option, torch_version), "--arch")
    env_list = env.env_vars.get("TORCH_CUDA_ARCH_LIST")
    if env_list and env_list.strip():
        return ArchRequest(
            parse_arch_list(env_list, torch_version, "TORCH_CUDA_ARCH_LIST"), "TORCH_CUDA_ARCH_LIST"
        )
    user_arch_flags, _ = split_cuda_args(env.env_vars.get("MMCV_CUDA_ARGS"), env.os.system)
    from_args = specs_from_gencode(user_arch_flags)
    if from_args:
        return ArchRequest(from_args, "MMCV_CUDA_ARGS")
    specs, findings = gpu_specs(env.gpus)
    if specs:
        names = ", ".join(sorted({g.name for g in env.gpus}))
        return ArchRequest(specs, f"the GPUs present ({names})", findings)
    findings.append(
        finding("no-gpu-arch-list")
    )
    return ArchRequest([], "none", findings)

"""Whether a wheel mmbuild built runs on a node: the one check that fleet plans, ``verify`` and the
node installer (scripts/provision/node_install.py) use.

The wheel is described by its build metadata (``mmcv/_mmbuild.json``, or the same keys for a
planned build); the node by :class:`NodeFacts`. A wheel fits when the platform, Python major.minor,
torch release (``2.13.0`` of ``2.13.0+cu130``: the part that fixes torch's C++ ABI), torch's CUDA
major.minor and the C++ ABI match, and, on a node with GPUs, a CUDA build's arch list runs on every
GPU (``mmbuild.knowledge.arch``). A node fact that is not known (None) is not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge.arch import Arch
from mmbuild.model.identity import BuildIdentity


@dataclass
class NodeFacts:
    """What decides whether a wheel runs on a node."""

    system: str | None
    machine: str | None
    python: str | None                  # "3.11"
    torch: str | None
    torch_cuda: str | None
    cxx11_abi: bool | None
    capabilities: list[str] = field(default_factory=list)   # "9.0", one per GPU

    @classmethod
    def from_environment(cls, env) -> NodeFacts:
        torch = env.torch
        return cls(env.os.system, env.os.machine, major_minor(env.python.version),
                   torch.version if torch else None, torch.cuda if torch else None,
                   torch.cxx11_abi if torch else None, _capabilities(env.gpus))


def _capabilities(gpus) -> list[str]:
    """Each GPU's compute capability; from its name where the report has only names (nvidia-smi -L)."""
    from mmbuild.knowledge.gpus import capability_for_name

    found = (gpu.capability or capability_for_name(gpu.name or "") for gpu in gpus)
    return [capability for capability in found if capability]


@dataclass(frozen=True)
class Mismatch:
    """One reason the wheel does not run on the node, with the catalogue id of what follows."""

    what: str            # "platform", "Python", "torch", "torch CUDA", "C++ ABI", "target", "arches"
    built: str
    node: str
    problem_id: str
    text: str


def major_minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def torch_release(version: str | None) -> str | None:
    """``2.13.0+cu126`` -> ``2.13.0``."""
    return version.split("+", 1)[0] if version else None


def arch_runs_on(entry: str, capability: str) -> bool:
    """Whether an arch-list entry (``"8.6+PTX"``, ``"9.0a"``) runs on a device of ``capability``."""
    arch, device = Arch.parse(entry.removesuffix("+PTX")), Arch.parse(capability)
    if arch is None or device is None:
        return False
    return arch.sass_runs_on(device) or entry.endswith("+PTX") and arch.ptx_runs_on(device)


def mismatches(meta: dict, node: NodeFacts) -> list[Mismatch]:
    """Every reason the wheel described by ``meta`` does not run on ``node`` (empty: it fits)."""
    built = BuildIdentity.from_metadata(meta)
    found = _platform_mismatches(built, node)
    if built.torch and torch_release(built.torch) != torch_release(node.torch):
        found.append(Mismatch("torch", built.torch, str(node.torch), "undefined-symbol",
                              f"built for torch {built.torch}, node has {node.torch}"))
    if built.target == "cuda" and major_minor(built.torch_cuda) != major_minor(node.torch_cuda):
        found.append(Mismatch("torch CUDA", str(built.torch_cuda), node.torch_cuda or "none (CPU build)",
                              "cuda-version-mismatch",
                              f"built for torch CUDA {built.torch_cuda}, node's torch has "
                              f"{node.torch_cuda or 'none (CPU build)'}"))
    abi = built.cxx11_abi
    if abi is not None and node.cxx11_abi is not None and bool(abi) != bool(node.cxx11_abi):
        found.append(Mismatch("C++ ABI", f"_GLIBCXX_USE_CXX11_ABI={int(abi)}",
                              f"_GLIBCXX_USE_CXX11_ABI={int(node.cxx11_abi)}", "undefined-symbol",
                              "C++ ABI differs from the node's torch"))
    if node.capabilities and node.torch_cuda:
        found += _gpu_mismatches(built, node)
    return found


def _platform_mismatches(built: BuildIdentity, node: NodeFacts) -> list[Mismatch]:
    found = []
    built_platform = f"{built.system}/{built.machine}"
    if node.system is not None and (built.system, built.machine) != (node.system, node.machine):
        node_platform = f"{node.system}/{node.machine}"
        found.append(Mismatch("platform", built_platform, node_platform, "undefined-symbol",
                              f"built for {built_platform}, node is {node_platform}"))
    built_python = major_minor(built.python or "") or "?"
    if node.python is not None and built_python != node.python:
        found.append(Mismatch("Python", built_python, node.python, "undefined-symbol",
                              f"built for Python {built_python}, node runs {node.python}"))
    return found


def _gpu_mismatches(built: BuildIdentity, node: NodeFacts) -> list[Mismatch]:
    if built.target != "cuda":
        return [Mismatch("target", "cpu", "GPUs", "not-compiled-with-gpu", "CPU-only build, node has GPUs")]
    arches = list(built.arch_list)
    missing = sorted({cap for cap in node.capabilities if not any(arch_runs_on(a, cap) for a in arches)})
    if not missing:
        return []
    held = ", ".join(arches) or "none"
    return [Mismatch("arches", held, ", ".join(missing), "no-kernel-image",
                     f"arches {held} do not run on compute capability {', '.join(missing)}")]


def rejection_reasons(meta: dict, node: NodeFacts) -> list[str]:
    """Why a wheel with build metadata ``meta`` cannot serve ``node`` (empty: it can)."""
    return [m.text for m in mismatches(meta, node)]

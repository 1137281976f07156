"""CUDA or CPU: CUDA when torch has CUDA and a toolkit of the same major is installed.

Otherwise the build would fall back to CPU ops. That is an error (the plan is blocked) when the
user asked for CUDA explicitly (``--arch`` or ``--cuda-home``) or when the machine has a GPU: a
CPU-only mmcv there is the FAQ's "nms is not compiled with GPU support" waiting to happen, so
it is built only on request (``--cpu-only``). On a machine without a GPU it is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge.distro_toolkits import distro_toolkit
from mmbuild.knowledge.versions import release
from mmbuild.model.environment import CudaToolkit, Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.model.options import BuildOptions
from mmbuild.plan.cuda_args import ArchRequest
from mmbuild.plan.toolkit import FETCH_SOURCES, choose_toolkit, fetch_source, index_version, source_name


@dataclass
class TargetChoice:
    target: str  # "cuda" | "cpu"
    toolkit: CudaToolkit | None
    reason: str
    findings: list[Finding] = field(default_factory=list)


def choose_target(env: Environment, options: BuildOptions, request: ArchRequest | None) -> TargetChoice:
    """cpu or cuda, with the toolkit; ``request``: the arches asked for (cuda_args.arch_request)."""
    if options.cpu_only:
        return TargetChoice("cpu", None, "--cpu-only")
    torch = env.torch
    asked_for_cuda = bool(options.arch or options.cuda_home or options.cuda_toolkit in FETCH_SOURCES)
    severity = "error" if asked_for_cuda or env.gpus else "warning"
    if torch is None:
        return TargetChoice("cpu", None, "torch is not installed")
    if not torch.cuda:
        findings = []
        if asked_for_cuda:
            findings.append(
                finding("torch-cuda-unavailable", message_key="cuda_asked_for", torch=torch.version)
            )
        return TargetChoice("cpu", None, f"torch {torch.version} has no CUDA", findings)
    arches = [spec.base for spec in request.specs] if request else []
    choice = choose_toolkit(env, options.cuda_home, options.cuda_toolkit, arches)
    index = f"; {choice.index_note}" if choice.index_note else ""
    cpu_way_out = _way_out(env, options, arches, severity)
    if choice.requested_home:
        return TargetChoice(
            "cpu",
            None,
            choice.reason,
            [
                finding("cuda-home-missing", message_key="requested_home", reason=choice.reason)
            ],
        )
    toolkit = choice.toolkit
    if toolkit is None:
        return _no_toolkit(env, severity, cpu_way_out, index)
    if (release(toolkit.version) or (0,))[0] != (release(torch.cuda) or (0,))[0]:
        return TargetChoice(
            "cpu",
            None,
            choice.reason,
            [
                finding("cuda-version-mismatch", message_key="chosen_toolkit", reason=choice.reason,
                        toolkit=toolkit.version, cuda=torch.cuda, cuda_major=release(torch.cuda)[0])
            ],
        )
    return TargetChoice(
        "cuda",
        toolkit,
        f"torch {torch.version} (CUDA {torch.cuda}); nvcc {toolkit.version} "
        f"at {toolkit.home} ({choice.reason})",
    )


def _no_toolkit(env: Environment, severity: str, way_out: str, index: str) -> TargetChoice:
    """A CPU build, and why: no toolkit at all, or none of torch's CUDA major."""
    cuda = env.torch.cuda
    if not env.cuda_toolkits:
        return TargetChoice(
            "cpu",
            None,
            "no CUDA toolkit (nvcc) found",
            [
                finding("cuda-home-missing", severity, message_key="no_toolkit", cuda=cuda,
                        consequence=_consequence(severity, bool(env.gpus)), way_out=way_out, index=index)
            ],
        )
    found = ", ".join(f"{t.version} ({t.home})" for t in env.cuda_toolkits)
    return TargetChoice(
        "cpu",
        None,
        "no toolkit matches torch's CUDA",
        [
            finding("cuda-version-mismatch", severity, message_key="no_matching_toolkit",
                    cuda=cuda, found=found, consequence=_consequence(severity, bool(env.gpus)),
                    toolkit=env.cuda_toolkits[0].version, way_out=way_out, index=index)
        ],
    )


def _way_out(env: Environment, options: BuildOptions, arches: list[str], severity: str) -> str:
    """The end of the fix: the operating system's own toolkit where it fits, fetching the toolkit where
    it can be (the package index, NVIDIA's redistributable archives), and --cpu-only."""
    parts = []
    version = index_version(env, arches)
    packaged = _packaged_toolkit(env)
    if packaged:
        parts.append(packaged)
    source = fetch_source(env, version)
    if options.cuda_toolkit != "auto" and source and source != options.cuda_toolkit:
        parts.append(f"or pass --cuda-toolkit {source} to fetch CUDA {version} from {source_name(source)}")
    if severity == "error":
        parts.append("or --cpu-only to build CPU ops only")
    return f" ({'; '.join(parts)})" if parts else ""


def _packaged_toolkit(env: Environment) -> str:
    """The operating system's own CUDA package, where it is torch's CUDA major and not installed yet."""
    packaged = distro_toolkit(env.os.distro, env.os.distro_version)
    torch_major = (release(env.torch.cuda if env.torch else None) or (None,))[0]
    if packaged is None or (release(packaged.cuda) or (None,))[0] != torch_major:
        return ""
    if any(t.version == packaged.cuda and t.origin == "system" for t in env.cuda_toolkits):
        return ""
    return (f"or install {packaged.distro.capitalize()} {packaged.version}'s own CUDA {packaged.cuda}: "
            f"{packaged.install_command}, with the {packaged.component} component enabled")


def _consequence(severity: str, gpus: bool) -> str:
    if severity != "error":
        return "building CPU ops only"
    return ("CUDA ops cannot be built, and on a machine with a GPU mmbuild builds a CPU-only mmcv only "
            "with --cpu-only" if gpus else "the CUDA ops asked for cannot be built")

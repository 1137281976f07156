"""CUDA or CPU: CUDA when torch has CUDA and a toolkit of the same major is installed.

Otherwise the build would fall back to CPU ops. That is an error (the plan is blocked) when the
user asked for CUDA explicitly (``--arch`` or ``--cuda-home``) or when the machine has a GPU: a
CPU-only mmcv there is the FAQ's "nms is not compiled with GPU support" waiting to happen, so
it is built only on request (``--cpu-only``). On a machine without a GPU it is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.environment import CudaToolkit, Environment
from mmbuild.findings import Finding
from mmbuild.knowledge.versions import release
from mmbuild.options import BuildOptions
from mmbuild.plan.toolkit import choose_toolkit


@dataclass
class TargetChoice:
    target: str  # "cuda" | "cpu"
    toolkit: CudaToolkit | None
    reason: str
    findings: list[Finding] = field(default_factory=list)


def choose_target(env: Environment, options: BuildOptions) -> TargetChoice:
    if options.cpu_only:
        return TargetChoice("cpu", None, "--cpu-only")
    torch = env.torch
    asked_for_cuda = bool(options.arch or options.cuda_home)
    severity = "error" if asked_for_cuda or env.gpus else "warning"
    cpu_way_out = " (or --cpu-only to build CPU ops only)" if severity == "error" else ""
    if torch is None:
        return TargetChoice("cpu", None, "torch is not installed")
    if not torch.cuda:
        findings = []
        if asked_for_cuda:
            findings.append(
                Finding(
                    "torch-cuda-unavailable",
                    "error",
                    f"CUDA ops were asked for (--arch/--cuda-home) but torch {torch.version} is a "
                    "CPU-only build",
                    "install a CUDA build of torch, or drop --arch/--cuda-home (or pass --cpu-only)",
                )
            )
        return TargetChoice("cpu", None, f"torch {torch.version} has no CUDA", findings)
    choice = choose_toolkit(env, options.cuda_home)
    if choice.requested_home:
        return TargetChoice(
            "cpu",
            None,
            choice.reason,
            [
                Finding(
                    "cuda-home-missing",
                    "error",
                    f"{choice.reason}: the CUDA toolkit there cannot be used",
                    "point --cuda-home/CUDA_HOME at a folder holding bin/nvcc, or unset CUDA_HOME",
                )
            ],
        )
    toolkit = choice.toolkit
    if toolkit is None:
        if not env.cuda_toolkits:
            return TargetChoice(
                "cpu",
                None,
                "no CUDA toolkit (nvcc) found",
                [
                    Finding(
                        "cuda-home-missing",
                        severity,
                        f"torch is built for CUDA {torch.cuda} but no CUDA toolkit (nvcc) was "
                        "found: " + _consequence(severity, bool(env.gpus)),
                        f"install the CUDA {torch.cuda} toolkit and set CUDA_HOME (or pass --cuda-home)"
                        + cpu_way_out,
                    )
                ],
            )
        found = ", ".join(f"{t.version} ({t.home})" for t in env.cuda_toolkits)
        return TargetChoice(
            "cpu",
            None,
            "no toolkit matches torch's CUDA",
            [
                Finding(
                    "cuda-version-mismatch",
                    severity,
                    f"torch is built for CUDA {torch.cuda} but the toolkits are {found}: torch "
                    "refuses another major version: " + _consequence(severity, bool(env.gpus)),
                    f"install the CUDA {torch.cuda} toolkit, or a torch built for CUDA "
                    f"{env.cuda_toolkits[0].version}" + cpu_way_out,
                )
            ],
        )
    if (release(toolkit.version) or (0,))[0] != (release(torch.cuda) or (0,))[0]:
        return TargetChoice(
            "cpu",
            None,
            choice.reason,
            [
                Finding(
                    "cuda-version-mismatch",
                    "error",
                    f"{choice.reason} is CUDA {toolkit.version}, but torch is built for CUDA "
                    f"{torch.cuda}: torch's "
                    "extension builder refuses a different major version",
                    f"use a CUDA {release(torch.cuda)[0]}.x toolkit, or a torch built for CUDA "
                    f"{toolkit.version}",
                )
            ],
        )
    return TargetChoice(
        "cuda",
        toolkit,
        f"torch {torch.version} (CUDA {torch.cuda}); nvcc {toolkit.version} "
        f"at {toolkit.home} ({choice.reason})",
    )


def _consequence(severity: str, gpus: bool) -> str:
    if severity != "error":
        return "building CPU ops only"
    return ("CUDA ops cannot be built, and on a machine with a GPU mmbuild builds a CPU-only mmcv only "
            "with --cpu-only" if gpus else "the CUDA ops asked for cannot be built")

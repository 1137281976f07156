"""Whether the ``.cu`` units include only the torch headers they use (mmbuild/build/narrow_includes.py).

On by default for CUDA builds where the compile wrapper runs: Linux and macOS, with a torch whose
extension builder runs ``$PYTORCH_NVCC`` (2.1 and newer), which names the wrapper in front of nvcc;
each unit whose narrow compile fails compiles as it was. CPU builds have no ``.cu`` units, and
their C++ units use the precompiled header. ``--no-narrow-includes`` turns it off.
"""

from __future__ import annotations

from mmbuild.knowledge.torch_facts import reads_pytorch_nvcc
from mmbuild.model.environment import Environment
from mmbuild.plan.switch import Switch
from mmbuild.plan.toolchain import host_toolchain


def choose_narrow_includes(env: Environment, target: str, wanted: bool) -> Switch:
    if not wanted:
        return Switch(False, "--no-narrow-includes")
    if target != "cuda":
        return Switch(False, "a CPU build has no .cu units")
    torch_version = env.torch.version if env.torch else None
    if not reads_pytorch_nvcc(torch_version):
        return Switch(False, f"torch {torch_version} runs nvcc itself (PYTORCH_NVCC from torch 2.1): "
                             "no wrapper can put the narrow headers in front")
    why_not = host_toolchain(env).narrow_includes_support()
    if why_not:
        return Switch(False, why_not)
    return Switch(True, ".cu units include <ATen/core/Tensor.h> and the per-operator headers they use "
                        "instead of <ATen/ATen.h>; a unit that does not compile so compiles as it was")

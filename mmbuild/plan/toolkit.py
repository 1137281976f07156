"""Which CUDA toolkit a build uses.

Order: ``--cuda-home`` > the user's ``CUDA_HOME`` > the toolkit whose major version matches
``torch.version.cuda`` (the same minor first, then the newest of that major). torch's extension
builder refuses a toolkit of another major ("The detected CUDA version (X) mismatches the version
that was used to compile PyTorch (Y)"), so no other toolkit is ever chosen implicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmbuild.knowledge.versions import parse_version, release
from mmbuild.model.environment import CudaToolkit, Environment


@dataclass
class ToolkitChoice:
    toolkit: CudaToolkit | None
    reason: str
    requested_home: str | None = None  # a home the user named that holds no nvcc


def same_dir(a: str | None, b: str | None) -> bool:
    """Whether two directory strings name the same folder (trailing separators and case on Windows aside)."""
    if not a or not b:
        return False
    norm_a, norm_b = a.rstrip("/\\"), b.rstrip("/\\")
    if "\\" in norm_a or "\\" in norm_b:
        return norm_a.replace("\\", "/").lower() == norm_b.replace("\\", "/").lower()
    return norm_a == norm_b


def toolkit_at(env: Environment, home: str) -> CudaToolkit | None:
    return next((t for t in env.cuda_toolkits if same_dir(t.home, home)), None)


def matching_toolkits(env: Environment) -> list[CudaToolkit]:
    """Toolkits whose major equals torch's CUDA major: the same minor first, then newest first."""
    torch_cuda = env.torch.cuda if env.torch else None
    wanted = release(torch_cuda)
    if wanted is None:
        return []
    same_major = [t for t in env.cuda_toolkits if (release(t.version) or (None,))[0] == wanted[0]]
    return sorted(same_major, key=lambda t: (release(t.version) != wanted, _desc(t.version)))


def choose_toolkit(env: Environment, cuda_home: str | None = None) -> ToolkitChoice:
    """The toolkit to build with (see the module docstring for the order)."""
    for source, home in (("--cuda-home", cuda_home), ("CUDA_HOME", env.env_vars.get("CUDA_HOME"))):
        if home:
            found = toolkit_at(env, home)
            if found is None:
                return ToolkitChoice(None, f"{source}={home} holds no nvcc", requested_home=home)
            return ToolkitChoice(found, f"{source}={home}")
    matches = matching_toolkits(env)
    if matches:
        torch_cuda = env.torch.cuda if env.torch else None
        return ToolkitChoice(matches[0], f"matches torch's CUDA {torch_cuda}")
    reason = "no toolkit matches torch's CUDA" if env.cuda_toolkits else "no CUDA toolkit found"
    return ToolkitChoice(None, reason)


def _desc(version: str | None) -> tuple:
    parsed = parse_version(version)
    return tuple(-n for n in parsed.release) if parsed else (0,)

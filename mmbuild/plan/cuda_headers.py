"""Which include dirs give the CUDA build the headers torch's CUDA headers need.

Each header comes from the chosen toolkit when it has it, else from the NVIDIA wheels torch was
installed with (see mmbuild/probe/cuda_headers.py). The wheel dirs reach every compiler of the
build through ``CPATH``, which g++ and nvcc (through its host preprocessor) search after the
``-I`` dirs: the toolkit's own headers keep precedence. A header that no source provides is an
error before the build starts, not a compile failure after minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge.torch_facts import cuda_header_packages, cuda_headers_needed
from mmbuild.model.environment import CudaToolkit, Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.plan.toolchain import toolchain_for


@dataclass
class CudaHeaders:
    extra_dirs: list[str] = field(default_factory=list)      # for CPATH, in search order
    sources: dict[str, str] = field(default_factory=dict)    # header -> include dir it comes from
    findings: list[Finding] = field(default_factory=list)

    def describe(self) -> str:
        return ", ".join(sorted(set(self.sources.values()))) or "-"


def resolve_cuda_headers(env: Environment, toolkit: CudaToolkit) -> CudaHeaders:
    """The include dirs to add for ``toolkit`` (see the module docstring)."""
    result = CudaHeaders()
    if toolkit.library_headers is None:      # a report from before headers were looked at
        return result
    wheels = env.torch.cuda_library_headers if env.torch else {}
    missing = []
    for header in cuda_headers_needed():
        if header in toolkit.library_headers:
            result.sources[header] = toolkit.library_headers[header]
        elif header in wheels:
            result.sources[header] = wheels[header]
            if wheels[header] not in result.extra_dirs:
                result.extra_dirs.append(wheels[header])
        else:
            missing.append(header)
    if missing:
        cuda = env.torch.cuda if env.torch else toolkit.version
        packages = " ".join(cuda_header_packages(missing, cuda))
        result.findings.append(finding("cuda-header-missing", missing=", ".join(missing), home=toolkit.home,
                                       packages=packages, cuda=cuda))
    return result


def cpath_value(extra_dirs: list[str], user_cpath: str | None, system: str) -> str:
    """``CPATH`` for the build: the extra dirs, then whatever the user had."""
    return toolchain_for(system).path_separator.join([*extra_dirs, *([user_cpath] if user_cpath else [])])

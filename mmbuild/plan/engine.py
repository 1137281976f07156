"""Whether installing the chosen mmcv puts a second ``mmengine`` distribution beside the installed one.

mmcv 2.x requires mmengine, onedl-mmcv requires onedl-mmengine; both distributions install the
same ``mmengine`` package, and pip installs one over the other's files without complaint (a later
uninstall of either then breaks the other).
"""

from __future__ import annotations

from mmbuild.model.build_plan import MmcvChoice
from mmbuild.model.environment import Environment
from mmbuild.model.findings import Finding, finding

ENGINE_OF = {"mmcv": "mmengine", "onedl-mmcv": "onedl-mmengine"}


def check_engine(env: Environment, mmcv: MmcvChoice) -> list[Finding]:
    """An ``mmengine-dual-install`` warning when pip would install the other mmengine over this one."""
    needed = ENGINE_OF.get(mmcv.package)
    if needed is None or env.packages.get(needed):
        return []
    other = next((name for name in ENGINE_OF.values() if name != needed and env.packages.get(name)), None)
    if other is None:
        return []
    return [
        finding("mmengine-dual-install", package=mmcv.package, needed=needed, other=other,
                other_version=env.packages[other])
    ]

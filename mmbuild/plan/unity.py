"""Whether the C++ units compile in groups, as unity units (mmbuild/build/unity.py).

On wherever the precompiled header is: the compile wrapper that puts it in front of the units
is also what compiles a unity unit unit by unit when it does not compile as one. ``--no-unity``
turns it off.
"""

from __future__ import annotations

from mmbuild.plan.switch import Switch


def choose_unity(pch: Switch, wanted: bool) -> Switch:
    if not wanted:
        return Switch(False, "--no-unity")
    if not pch.enabled:
        return Switch(False, f"no precompiled header ({pch.reason}): its compile wrapper also "
                             "compiles a unity unit unit by unit where it fails")
    return Switch(True, "mmcv's C++ units compile in small groups, so torch's headers are "
                        "processed once per group; a group that does not compile as one compiles "
                        "unit by unit")

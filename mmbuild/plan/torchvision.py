"""Whether the torchvision that mmcv-full needs is installed, checked before mmcv-full is built.

mmcv-full 1.x imports torchvision at import time (``import mmcv.ops`` -> mmcv.runner ->
torchvision), so building it where the installed torch has no matching torchvision installs an mmcv
whose ops cannot be imported. mmcv 2.x does not import torchvision: nothing is checked for it.
Every finding here is ``torchvision-missing``:

- no torchvision: an error naming the torchvision to install (mmbuild/knowledge/torchvision.toml)
  and the pip command; for a torch the table does not know, the torchvision released with it.
- a torchvision paired with another torch release: an error where the table pairs this torch on
  a checked row; a warning where it cannot judge (a torch outside the table, an expected row).
- the right release but another build variant than torch (``+cpu`` vs ``+cu130``): an error when
  the CUDA majors differ (torchvision refuses to import), else a warning.

Pure: reads the Environment and the knowledge tables only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from mmbuild.knowledge import torchvision_pairs as facts
from mmbuild.knowledge.versions import parse_version, release
from mmbuild.model.build_plan import Decision, MmcvChoice
from mmbuild.model.environment import Environment
from mmbuild.model.findings import Finding, finding

PYTORCH_INDEX = "https://download.pytorch.org/whl/"
# Local version tags of torch builds whose torchvision download.pytorch.org serves under whl/<tag>.
_INDEX_VARIANT = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(\.\d+)*|xpu)$")
_CUDA_VARIANT = re.compile(r"^cu(\d+)\d$")
VISION_README = "https://github.com/pytorch/vision#installation"


@dataclass
class TorchvisionCheck:
    findings: list[Finding] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


def check_torchvision(env: Environment, mmcv: MmcvChoice) -> TorchvisionCheck:
    """Findings and a decision row about torchvision, for an mmcv-full build (nothing otherwise)."""
    if mmcv.package != "mmcv-full" or env.torch is None:
        return TorchvisionCheck()
    pair = facts.pair_for_torch(env.torch.version)
    if pair is None:
        return _unknown_torch(env, mmcv)
    return _known_torch(env, mmcv, pair)


def torchvision_to_install(env: Environment, mmcv: MmcvChoice,
                           downstream: tuple[str, ...] = ()) -> tuple[str, str | None] | None:
    """(requirement, index URL or None for the configured index) of the torchvision that a stack
    installs beside torch, for mmcv-full or a ``downstream`` package that imports torchvision without
    requiring it (mmpretrain): where torchvision is missing or of another release and the table pairs
    this torch with one. None: nothing needs it, the installed one fits, or the table cannot say."""
    needed = mmcv.package == "mmcv-full" or bool(set(downstream) & set(facts.imported_by()))
    if not needed or env.torch is None:
        return None
    pair = facts.pair_for_torch(env.torch.version)
    wanted = pair.recommended(env.torch.version) if pair else None
    installed = env.packages.get("torchvision")
    if wanted is None or (installed and release(installed) == pair.torchvision):
        return None
    local = _local(env.torch.version)
    index = f"{PYTORCH_INDEX}{local}" if local and _INDEX_VARIANT.match(local) else None
    return f"torchvision=={wanted.version}", index


def _known_torch(env: Environment, mmcv: MmcvChoice, pair: facts.TorchvisionPair) -> TorchvisionCheck:
    torch = env.torch.version
    installed = env.packages.get("torchvision")
    wanted = pair.recommended(torch)
    if wanted is not None:
        want = str(wanted.version)
        fix = install_command(f"torchvision=={wanted.version}", env)
    else:
        want = f"{pair.torchvision_label}.x"
        if not pair.checked:
            want += " (expected pairing, not yet confirmed on the package index)"
        requirement = f'"torchvision=={pair.torchvision_label}.*" "torch=={_public(torch)}"'
        fix = install_command(requirement, env, "pinning torch keeps pip from replacing it")
    if not installed:
        missing = finding("torchvision-missing", message_key="missing", mmcv=mmcv.version, torch=torch,
                          want=want, command=fix)
        return _result(missing, f"missing (needs {want})")
    if release(installed) != pair.torchvision:
        mismatch = _mismatch(mmcv, installed, torch, want, pair.checked, fix)
        return _result(mismatch, f"{installed} (needs {want})")
    variant = _variant_finding(env, installed, wanted)
    if variant is not None:
        return _result(variant, f"{installed} (needs the {_local(torch)} build)")
    reason = f"mmcv-full imports torchvision; torch {torch} needs torchvision {want} (installed)"
    return TorchvisionCheck(decisions=[Decision("torchvision", installed, reason)])


def _mismatch(mmcv: MmcvChoice, installed: str, torch: str, want: str, checked: bool, fix: str) -> Finding:
    """torchvision of another release than this torch's: an error where the table's pairing is checked."""
    severity, fails = ("error", "fails") if checked else ("warning", "may fail")
    other = facts.pair_for_torchvision(installed)
    if other:
        return finding("torchvision-missing", severity, message_key="other_release", mmcv=mmcv.version,
                       installed=installed, torch=torch, other=other.torch_label, want=want, fails=fails,
                       command=fix)
    return finding("torchvision-missing", severity, message_key="unknown_release", mmcv=mmcv.version,
                   installed=installed, torch=torch, want=want, fails=fails, command=fix)


def _unknown_torch(env: Environment, mmcv: MmcvChoice) -> TorchvisionCheck:
    torch = env.torch.version
    installed = env.packages.get("torchvision")
    have, newest, oldest = release(torch), facts.newest_pair(), facts.oldest_pair()
    if have is not None and have > newest.torch:
        where = (f"newer than mmbuild's torch/torchvision table (newest: torch {newest.torch_label} -> "
                 f"torchvision {newest.torchvision_label})")
    elif have is not None and have < oldest.torch:
        where = (f"older than mmbuild's torch/torchvision table (oldest: torch {oldest.torch_label} -> "
                 f"torchvision {oldest.torchvision_label})")
    else:
        where = "not in mmbuild's torch/torchvision table"
    released_with = f"the torchvision released with torch {_public(torch)}"
    fix = install_command(
        f'torchvision "torch=={_public(torch)}"', env,
        f"pip then picks {released_with}, whose torch pin admits it; pinning torch keeps pip from "
        f"replacing it; see {VISION_README}",
    )
    if not installed:
        missing = finding("torchvision-missing", message_key="missing_unknown_torch", mmcv=mmcv.version,
                          torch=torch, where=where, public=_public(torch), command=fix)
        return _result(missing, f"missing (needs {released_with})")
    other = facts.pair_for_torchvision(installed)
    if other is not None and have is not None and other.torch != have:
        mismatch = finding("torchvision-missing", "warning", message_key="other_release_unknown_torch",
                           mmcv=mmcv.version, installed=installed, other=other.torch_label, torch=torch,
                           where=where, public=_public(torch), command=fix)
        return _result(mismatch, f"{installed} (probably needs {released_with})")
    reason = f"mmcv-full imports torchvision; its pairing with torch {torch} is unknown to mmbuild"
    return TorchvisionCheck(decisions=[Decision("torchvision", installed, reason)])


def install_command(requirement: str, env: Environment, note: str = "") -> str:
    """``pip install <requirement>`` from the index (build variant) torch came from, with why in brackets."""
    torch = env.torch.version
    local = _local(torch)
    command = f"pip install {requirement}"
    notes = [note] if note else []
    if local == "cpu":
        command += f" --index-url {PYTORCH_INDEX}cpu"
        notes.append(f"torch {torch} is the CPU build: its torchvision is the CPU build from that index")
    elif local and _INDEX_VARIANT.match(local):
        notes.append("torchvision must come from the same index and CUDA variant as torch: the package "
                     "index's torchvision fits the package index's torch; for a torch from "
                     f"download.pytorch.org add --index-url {PYTORCH_INDEX}{local}")
    elif local:
        notes.append(f"torch {torch} is a custom build: install the torchvision built for it, from the same "
                     "source as torch")
    return f"{command} ({'; '.join(notes)})" if notes else command


def _variant_finding(
    env: Environment, installed: str, wanted: facts.TorchvisionRelease | None
) -> Finding | None:
    """torchvision of the right release but another build than torch (+cpu / +cuXYZ), else None."""
    torch = env.torch.version
    mine, theirs = _local(torch), _local(installed)
    if not mine or not theirs or mine == theirs:
        return None
    requirement = f"torchvision=={wanted.version if wanted else _public(installed)}"
    if _INDEX_VARIANT.match(mine):  # the installed release already satisfies ==: pip must replace it
        fix = f"pip install --force-reinstall --no-deps {requirement} --index-url {PYTORCH_INDEX}{mine}"
    else:
        fix = install_command(requirement, env)
    cuda_mine, cuda_theirs = _CUDA_VARIANT.match(mine), _CUDA_VARIANT.match(theirs)
    if cuda_mine and cuda_theirs and cuda_mine.group(1) != cuda_theirs.group(1):
        return finding("torchvision-missing", message_key="other_cuda_major", installed=installed,
                       cuda=cuda_theirs.group(1), torch=torch, torch_cuda=cuda_mine.group(1), command=fix)
    return finding("torchvision-missing", "warning", message_key="other_build", installed=installed,
                   theirs=theirs, torch=torch, mine=mine, command=fix)


def _result(finding: Finding, value: str) -> TorchvisionCheck:
    reason = "mmcv-full imports torchvision: install it before the build (see findings)"
    return TorchvisionCheck([finding], [Decision("torchvision", value, reason)])


def _local(version: str | None) -> str | None:
    """The local tag of a version (``cu130`` of ``2.13.0+cu130``), None when it has none."""
    try:
        return Version(str(version).strip()).local if version else None
    except InvalidVersion:
        return None


def _public(version: str) -> str:
    parsed = parse_version(version)
    return str(parsed) if parsed else version

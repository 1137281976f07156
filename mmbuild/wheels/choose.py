"""Which wheel of a wheelhouse serves a node: the one rule ``mmbuild install --wheelhouse`` and the node
installer (scripts/provision/node_install.py) share.

A wheel serves when it runs on the node (``fit.py``: platform, Python, torch release, torch's CUDA, C++
ABI, SASS or PTX for every GPU) and holds what the node asks for (:class:`Wanted`: the mmcv package
and version, CPU or CUDA ops, every op of ``--ops`` or all of them, and debug info when asked for).
The wheel's own build metadata (``mmcv/_mmbuild.json``) is what is compared; a wheel without it serves
no one. Of the serving wheels, one built from exactly the node's plan (same fingerprint) comes first,
then the newest build.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from mmbuild.knowledge.arch import Arch
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.util.console import say
from mmbuild.wheels.fit import NodeFacts, rejection_reasons


@dataclass(frozen=True)
class Wanted:
    """What the node asks of a wheel beyond running on it; None or empty: anything."""

    package: str | None = None
    version: str | None = None
    target: str | None = None               # "cpu" | "cuda"
    ops: tuple[str, ...] = ()               # empty: every op
    source_sha256: str | None = None
    debug_symbols: bool = False             # True: only a wheel whose units kept -g
    fingerprint: str | None = None          # preferred: a wheel of exactly this plan


@dataclass
class WheelChoice:
    """The wheel taken (None: none serves), why, and every wheel passed over with its reasons."""

    wheel: Path | None
    meta: dict | None
    why: str
    rejected: list[dict] = field(default_factory=list)


def missing_wants(meta: dict, wanted: Wanted) -> list[str]:
    """What ``wanted`` asks for that the wheel described by ``meta`` lacks (empty: nothing)."""
    found = []
    built = f"{meta.get('package')} {meta.get('version')}"
    if wanted.package and meta.get("package") != wanted.package:
        found.append(f"holds {built}, node asks for {wanted.package} {wanted.version or ''}".rstrip())
    elif wanted.version and meta.get("version") != wanted.version:
        found.append(f"holds {built}, node asks for {wanted.version}")
    if wanted.target and meta.get("target") != wanted.target:
        found.append(f"{meta.get('target')} ops, node asks for {wanted.target} ops")
    found += _missing_ops(meta.get("ops"), wanted.ops)
    if wanted.source_sha256 and meta.get("source_sha256") not in (None, wanted.source_sha256):
        found.append("built from another source (sha256 differs)")
    # Wheels from before the choice was recorded kept -g.
    if wanted.debug_symbols and not meta.get("debug_symbols", True):
        found.append("built without debug info, node asks for --debug-symbols")
    return found


def _missing_ops(held: object, asked: tuple[str, ...]) -> list[str]:
    if held == "all" or held is None:
        return []
    held_ops = set(held) if isinstance(held, list) else set()
    if not asked:
        return [f"holds only the ops {', '.join(sorted(held_ops))}, node asks for all"]
    missing = sorted(set(asked) - held_ops)
    return [f"lacks the ops {', '.join(missing)}"] if missing else []


def why_it_serves(meta: dict, node: NodeFacts, wanted: Wanted) -> str:
    """One line saying what makes the chosen wheel serve ``node``."""
    if _same_plan(meta, wanted):
        return "built from this node's plan (same fingerprint)"
    ops = meta.get("ops")
    ops_text = "all ops" if ops in ("all", None) else f"ops {', '.join(ops)}"
    torch = meta.get("torch") or {}
    runs = ""
    if meta.get("target") == "cuda":
        runs = f"arches {', '.join(meta.get('arch_list') or [])}"
        if node.capabilities:
            runs += f" run on compute capability {', '.join(node.capabilities)}"
        runs += f", CUDA {torch.get('cuda')}, "
    return (f"fits this node: {runs}torch {torch.get('version')}, Python {meta.get('python')}, "
            f"{ops_text}")


def choose_wheel(candidates: list[tuple[Path, dict | None]], node: NodeFacts, wanted: Wanted | None = None
                 ) -> WheelChoice:
    """The wheel that serves ``node`` best (see the module docstring), and the rejected ones with reasons."""
    wanted = wanted or Wanted()
    serving, rejected = [], []
    for wheel, meta in candidates:
        if meta is None:
            reasons = ["no mmbuild metadata in the wheel"]
        else:
            reasons = rejection_reasons(meta, node) + missing_wants(meta, wanted)
        if reasons:
            rejected.append({"wheel": wheel.name, "reasons": reasons})
        else:
            serving.append((wheel, meta))
    serving.sort(key=lambda item: (_same_plan(item[1], wanted), str(item[1].get("built_at", ""))),
                 reverse=True)
    if not serving:
        return WheelChoice(None, None, f"none of {len(candidates)} wheels serves this node", rejected)
    wheel, meta = serving[0]
    return WheelChoice(wheel, meta, why_it_serves(meta, node, wanted), rejected)


def _same_plan(meta: dict, wanted: Wanted) -> bool:
    return bool(wanted.fingerprint) and meta.get("fingerprint") == wanted.fingerprint


def plan_capabilities(arch_list: list[str]) -> list[str]:
    """The compute capabilities a plan's arch list builds for (``"8.6+PTX"`` and ``"8.6a"``: ``"8.6"``)."""
    found = (Arch.parse(entry.removesuffix("+PTX")) for entry in arch_list)
    return list(dict.fromkeys(str(arch.base) for arch in found if arch is not None))


def wheelhouse_wheels(folder: Path) -> list[Path]:
    """Every mmcv, mmcv-full and onedl-mmcv wheel in the wheelhouse (flat, or in its sub-folders)."""
    return sorted(p for p in Path(folder).rglob("*mmcv*.whl") if p.is_file())


def wheelhouse_candidates(folder: Path) -> list[tuple[Path, dict | None]]:
    """Every mmcv wheel of the wheelhouse with its build metadata (None where it has none)."""
    from mmbuild.wheels.metadata import read_wheel_metadata

    return [(wheel, read_wheel_metadata(wheel)) for wheel in wheelhouse_wheels(folder)]


def wanted_by_plan(plan: BuildPlan) -> Wanted:
    """What an install planned as ``plan`` asks of a wheelhouse wheel."""
    source = (plan.fingerprint_inputs.get("mmcv") or {}).get("source_sha256")
    return Wanted(package=plan.mmcv.package, version=plan.mmcv.version, target=plan.target,
                  ops=tuple(plan.ops), source_sha256=source, debug_symbols=plan.debug_symbols,
                  fingerprint=plan.fingerprint or None)


def node_for_plan(env: Environment, plan: BuildPlan, arch_given: bool) -> NodeFacts:
    """The node an install planned as ``plan`` runs on: this machine, and for CUDA ops the arches the plan
    builds for (``--arch``, else this machine's GPUs, which then must run the wheel too)."""
    node = NodeFacts.from_environment(env)
    if plan.target != "cuda":
        return node
    asked = plan_capabilities(plan.arch_list)
    gpus = [] if arch_given else node.capabilities
    return replace(node, capabilities=list(dict.fromkeys([*asked, *gpus])))


def wheel_from_wheelhouse(folder: Path, plan: BuildPlan, env: Environment, arch_given: bool
                          ) -> tuple[Path, str] | None:
    """The wheelhouse wheel that serves this install (said, with the ones passed over), or None."""
    choice = choose_wheel(wheelhouse_candidates(folder), node_for_plan(env, plan, arch_given),
                          wanted_by_plan(plan))
    for rejected in choice.rejected:
        say(f"    wheelhouse: passed over {rejected['wheel']}: {'; '.join(rejected['reasons'])}")
    if choice.wheel is None:
        say(f"    wheelhouse: {choice.why}; building one")
        return None
    say(f"    wheelhouse: taking {choice.wheel.name}: {choice.why}")
    return choice.wheel, choice.why

"""What a downstream release accepts, from its own texts: Requires-Dist and the import-time check.

Pure: takes the texts of the release's core metadata (METADATA / PKG-INFO, or an sdist's
``requires.txt`` lines given as Requires-Dist) and of its top-level ``__init__.py`` files. Both
places bound mmcv: the metadata in its ``mim`` extra (``mmcv<2.2.0,>=2.0.0rc4; extra == 'mim'``;
onedl-mmdetection's ``mminstall``), the ``__init__.py`` at import
(``mmcv_minimum_version <= mmcv < mmcv_maximum_version``). A release is held to both. Where neither
says anything, the table (mmbuild/knowledge/downstream.toml) is the fallback.
"""

from __future__ import annotations

from email.parser import HeaderParser

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from mmbuild.knowledge import mmcv_versions as facts
from mmbuild.model.stack import DownstreamBounds
from mmbuild.probe.packages import parse_version_bounds

MMCV_PACKAGES = ("mmcv", "mmcv-full", "onedl-mmcv")
MMENGINE_PACKAGES = ("mmengine", "onedl-mmengine")
# Extras that hold the mmcv / mmengine requirements ("mim" upstream, "mminstall" in the forks).
_KEPT_EXTRAS = ("mim", "mminstall")


def requires_dist(metadata_text: str) -> list[str]:
    """The Requires-Dist lines of a core-metadata text (METADATA or PKG-INFO)."""
    return HeaderParser().parsestr(metadata_text).get_all("Requires-Dist") or []


def bounds_from_texts(name: str, version: str, requires: list[str],
                      init_texts: list[str]) -> DownstreamBounds:
    """The bounds ``name`` ``version`` declares in ``requires`` (its Requires-Dist) and ``init_texts``
    (its top-level ``__init__.py`` files); the table's row where it declares nothing on mmcv."""
    kept = [r for r in requires if _kept(r)]
    sources: list[str] = []
    mmcv_package, mmcv_spec = _from_requires(kept, MMCV_PACKAGES)
    engine_package, engine_spec = _from_requires(kept, MMENGINE_PACKAGES)
    if mmcv_package or engine_package:
        sources.append("metadata")
    mmcv_low, mmcv_high = _init_bounds(init_texts, "mmcv")
    engine_low, engine_high = _init_bounds(init_texts, "mmengine")
    if mmcv_low or mmcv_high or engine_low or engine_high:
        sources.append("__init__.py")
    mmcv_spec = _join(mmcv_spec, _range(mmcv_low, mmcv_high))
    engine_spec = _join(engine_spec, _range(engine_low, engine_high))
    if not mmcv_package and (mmcv_low or mmcv_high):
        mmcv_package = facts.required_package(name, mmcv_high or mmcv_low)
    if not mmcv_package:
        row = facts.downstream_requirement(name, version)
        if row is not None:
            mmcv_package, mmcv_spec = row.package, str(row.spec)
            sources.append("table")
    if mmcv_package and not engine_package and engine_spec:
        engine_package = "onedl-mmengine" if mmcv_package == facts.FORK else "mmengine"
    return DownstreamBounds(canonicalize_name(name), version, mmcv_spec, mmcv_package, engine_spec,
                            kept, sources, engine_package)


def table_bounds(name: str, version: str) -> DownstreamBounds | None:
    """The table's bounds for a release whose files cannot be read (None: the table has no row)."""
    row = facts.downstream_requirement(canonicalize_name(name), version)
    if row is None:
        return None
    return DownstreamBounds(canonicalize_name(name), version, str(row.spec), row.package, "", [], ["table"])


def _kept(line: str) -> bool:
    """A runtime requirement, or one of the extras that carry the mmcv / mmengine bounds."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return False
    marker = requirement.marker
    if marker is None or "extra" not in str(marker):
        return True
    return any(marker.evaluate({"extra": extra}) for extra in _KEPT_EXTRAS)


def _from_requires(requires: list[str], packages: tuple[str, ...]) -> tuple[str, str]:
    """(distribution, spec) of the first requirement on one of ``packages`` ("", "" if none)."""
    for line in requires:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) in packages:
            return canonicalize_name(requirement.name), str(requirement.specifier)
    return "", ""


def _init_bounds(texts: list[str], subject: str) -> tuple[str | None, str | None]:
    for text in texts:
        low, high = parse_version_bounds(text, subject)
        if low or high:
            return low, high
    return None, None


def _range(low: str | None, high: str | None) -> str:
    """The import-time check ``low <= v < high`` as a spec."""
    return ",".join(s for s in (f">={low}" if low else "", f"<{high}" if high else "") if s)


def _join(*specs: str) -> str:
    """Both specs at once, each clause once, in a stable order."""
    return str(SpecifierSet(",".join(s for s in specs if s)))

"""Every finding id that mmbuild's code emits is an entry of the catalogue."""

import pathlib
import re

from mmbuild.diagnose.catalogue import load_catalogue

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "mmbuild"
EMITTED = re.compile(r"""(?:Finding\(\s*(?:id=)?|problem_id=)["']([a-z0-9-]+)["']""")


def emitted_ids() -> dict[str, str]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for match in EMITTED.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), str(path.relative_to(PACKAGE)))
    return found


def test_the_scan_sees_the_probe_and_plan_findings():
    ids = emitted_ids()
    assert "torch-import-failed" in ids and "gcc-unsupported" in ids


def test_every_emitted_id_is_catalogued():
    catalogue = load_catalogue()
    missing = {pid: where for pid, where in emitted_ids().items() if pid not in catalogue}
    assert not missing

"""Two nodes, one wheelhouse: node 1 builds a small ops subset into it, node 2 installs from it
without compiling, and both verify.

Each node is its own venv (torch pinned to the running torch's version, this project installed
editable) with its own mmbuild cache, so node 2 can only get the wheel from the wheelhouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmcv_sources import locate_sdist

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
OPS = "nms,roi_align"


def _torch_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        pytest.skip("torch is not installed in the test interpreter")


def _make_node(folder: Path, torch_version: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"torch=={torch_version}", "ninja",
                    "-e", str(REPO)], check=True, timeout=1800)
    return python


def _mmbuild(python: Path, cache: Path, *arguments: str) -> dict:
    env = dict(os.environ, MMBUILD_CACHE_DIR=str(cache))
    for variable in ("CC", "CXX", "MAX_JOBS", "TORCH_CUDA_ARCH_LIST", "MMCV_CUDA_ARGS"):
        env.pop(variable, None)
    done = subprocess.run([str(python), "-m", "mmbuild", *arguments, "--json"], capture_output=True,
                          text=True, env=env, timeout=3600)
    assert done.returncode == 0, f"mmbuild {' '.join(arguments)} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    torch_version = _torch_version()
    root = tmp_path_factory.mktemp("fleet")
    return root, [_make_node(root / f"node{i}", torch_version) for i in (1, 2)]


def test_two_nodes_share_one_wheelhouse(nodes):
    root, (node1, node2) = nodes
    wheelhouse = root / "wheelhouse"
    source = ["--source", str(locate_sdist("mmcv", "2.2.0"))]
    options = [*source, "--ops", OPS, "--jobs", os.environ.get("MAX_JOBS", str(os.cpu_count() or 1))]

    built = _mmbuild(node1, root / "cache1", "build", "--out", str(wheelhouse), *options)
    assert built["cache"] == "built"
    index = json.loads((wheelhouse / "mmbuild-index.json").read_text())
    (entry,) = index.values()
    assert (wheelhouse / entry["wheel"]).is_file()
    assert built["plan"]["fingerprint"] in index

    first = _mmbuild(node1, root / "cache1", "install", "--wheelhouse", str(wheelhouse), *options)
    assert first["verify"]["ok"]

    second = _mmbuild(node2, root / "cache2", "install", "--wheelhouse", str(wheelhouse), *options)
    assert second["cache"] == "wheelhouse"
    assert not [s for s in second["steps"] if s["stage"] in ("build", "preflight", "patch")]
    assert second["verify"]["ok"]
    assert {c["name"] for c in second["verify"]["checks"] if c["status"] == "pass"} >= {"nms"}

    # The wheelhouse is also a plain pip source.
    listing = subprocess.run([str(node2), "-m", "pip", "download", "--no-deps", "--no-index", "--find-links",
                              str(wheelhouse), "-d", str(root / "pip-dl"), "mmcv==2.2.0"],
                             capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr

"""Provisioning CUDA 13.0's compiler from the package index for real: cold, warm, repaired, raced.

Needs the package index (pip's own settings apply); no GPU and no CUDA torch. The wheels are
about 130 MB; pip's cache makes the later fetches of one session fast.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmbuild.probe.cuda import probe_toolkit
from mmbuild.toolkits import store
from mmbuild.toolkits.provision import provision_toolkit

pytestmark = pytest.mark.integration

RACER = """
import sys
from pathlib import Path
from mmbuild.toolkits.provision import provision_toolkit
print(provision_toolkit("13.0", sys.executable, Path(sys.argv[1])))
"""


def test_provision_then_reuse_then_repair_a_broken_toolkit(tmp_path):
    started = time.monotonic()
    home = provision_toolkit("13.0", sys.executable, tmp_path)
    cold = time.monotonic() - started
    toolkit, findings = probe_toolkit(str(home), str(home / "bin" / "nvcc"))
    assert toolkit.version == "13.0" and "sm_90" in toolkit.arches and findings == []
    assert store.missing_parts(home.parent) == []
    record = store.read_record(home.parent)
    assert record["requirement"] == "cuda-toolkit[nvcc,cccl]==13.0.*"
    assert "nvidia-cuda-nvcc" in record["packages"]

    started = time.monotonic()
    assert provision_toolkit("13.0", sys.executable, tmp_path) == home
    warm = time.monotonic() - started
    print(f"\nprovisioned CUDA 13.0: cold {cold:.1f} s, warm {warm:.2f} s")
    assert warm < 5

    (home / "bin" / "nvcc").unlink()     # a damaged toolkit is provisioned again, never used
    assert provision_toolkit("13.0", sys.executable, tmp_path) == home
    assert store.missing_parts(home.parent) == []
    assert probe_toolkit(str(home), str(home / "bin" / "nvcc"))[0].version == "13.0"


def test_two_provisionings_racing_give_one_complete_toolkit(tmp_path):
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [racer.communicate(timeout=1800) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], [err[-2000:] for _, err in outputs]
    homes = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert homes == {str(tmp_path / "cuda-13.0" / "home")}
    assert sum("fetching" in err for _, err in outputs) == 1, "the second waited and reused the first's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cuda-13.0", "cuda-13.0.lock"]
    assert store.missing_parts(Path(next(iter(homes))).parent) == []

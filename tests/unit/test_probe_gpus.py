"""GPU and driver probe on real nvidia-smi, NVML and /proc outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmbuild.model.environment import GPU
from mmbuild.probe import gpus

FIXTURES = Path(__file__).parent.parent / "fixtures" / "probe"


@pytest.mark.parametrize(("name", "version"), [
    ("driver-version-384.98-proprietary.txt", "384.98"),
    ("driver-version-565.57.01-open.txt", "565.57.01"),
    ("driver-version-jetson-35.3.1.txt", "35.3.1"),
])
def test_parse_proc_driver_version(name, version):
    assert gpus.parse_proc_driver_version((FIXTURES / "proc" / name).read_text()) == version


def test_parse_sys_module_version():
    assert gpus.parse_sys_module_version("565.57.01\n") == "565.57.01"
    assert gpus.parse_sys_module_version("") is None


def test_parse_nvidia_smi_csv_by_header():
    found, driver = gpus.parse_nvidia_smi_csv((FIXTURES / "nvidia_smi/query-csv-570.86.15.txt").read_text())
    assert driver == "570.86.15"
    assert [(g.index, g.name, g.capability) for g in found] == [
        (0, "NVIDIA TITAN V", "7.0"), (1, "NVIDIA RTX 5880 Ada Generation", "8.9")]
    assert found[0].max_threads_per_block is None  # nvidia-smi does not report launch limits


def test_parse_nvidia_smi_csv_memory_without_units():
    fields = ("power.limit,power.min_limit,power.max_limit,memory.total,vbios_version,driver_version,name,"
              "gpu_uuid,power.draw,temperature.gpu,temperature.memory,clocks.current.graphics,clocks.sm,"
              "clocks.mem,utilization.gpu,utilization.memory,fan.speed,pcie.link.width.current,pstate")
    line = (FIXTURES / "nvidia_smi/query-noheader-nounits-440.64.txt").read_text()
    found, driver = gpus.parse_nvidia_smi_csv(fields.replace(",", ", ") + "\n" + line)
    assert driver == "440.64"
    assert found[0].name == "GeForce RTX 2080" and found[0].memory_mib == 7979 and found[0].capability is None


def test_parse_nvidia_smi_memory_with_units_header():
    # The header nvidia-smi prints for memory.total is "memory.total [MiB]" and values carry " MiB".
    found, _ = gpus.parse_nvidia_smi_csv("index, name, memory.total [MiB]\n0, NVIDIA L4, 23034 MiB\n")
    assert found[0].memory_mib == 23034


def _fake_smi(tmp_path: Path, script: str) -> str:
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + script)
    smi.chmod(0o755)
    return str(smi)


def test_old_driver_without_compute_cap_is_queried_again(tmp_path):
    refusal = (FIXTURES / "nvidia_smi/compute-cap-invalid-470.txt").read_text()
    smi = _fake_smi(tmp_path, f"""case "$1" in *compute_cap*) echo '{refusal.strip()}'; exit 2;; esac
echo 'index, name, memory.total [MiB], driver_version'
echo '0, Tesla K80, 11441 MiB, 470.182.03'
""")
    found, driver, finding = gpus.read_nvidia_smi(smi)
    assert driver == "470.182.03" and finding is None
    assert found[0].name == "Tesla K80" and found[0].capability is None


def test_missing_nvidia_smi_is_none(tmp_path):
    assert gpus.read_nvidia_smi(str(tmp_path / "nvidia-smi")) is None


def test_hanging_nvidia_smi_is_a_finding(tmp_path):
    smi = _fake_smi(tmp_path, "sleep 30\n")
    found, driver, finding = gpus.read_nvidia_smi(smi, timeout=0.5)
    assert found == [] and driver is None and "timed out" in finding.message


def test_nvml_records_with_str_and_bytes_names():
    records = json.loads((FIXTURES / "nvml/device-names-8x-l4.json").read_text())
    as_bytes = [{**r, "name": r["name"].encode()} for r in records]  # nvidia-ml-py < 11.5
    for variant in (records, as_bytes):
        found = gpus.gpus_from_nvml_records(variant)
        assert [g.name for g in found] == ["NVIDIA L4"] * 8
        assert [g.index for g in found] == list(range(8))


def test_driver_files_fall_back_to_sys_module(tmp_path):
    sys_file = tmp_path / "version"
    sys_file.write_text("565.57.01\n")
    assert gpus.read_driver_files(tmp_path / "missing", sys_file) == "565.57.01"
    proc = FIXTURES / "proc/driver-version-384.98-proprietary.txt"
    assert gpus.read_driver_files(proc, sys_file) == "384.98"


def test_unreadable_driver_files_give_no_driver(tmp_path):
    (tmp_path / "dir").mkdir()
    assert gpus.read_driver_files(tmp_path / "dir", tmp_path / "missing") is None


def test_torch_gpus_win_and_driver_comes_from_the_direct_probe():
    direct = gpus.GpuReport([GPU(0, "NVIDIA L4", "8.9")], None, "nvml")
    direct.driver = gpus.DriverInfo("570.86.15")
    torch_gpu = GPU(0, "NVIDIA L4", "8.9", 22478, None, None, 58)
    merged = gpus.merge_torch_gpus([torch_gpu], direct)
    assert merged.gpus == [torch_gpu] and merged.source == "torch" and merged.driver.version == "570.86.15"
    assert gpus.merge_torch_gpus([], direct) is direct


def test_direct_probe_on_a_machine_without_nvidia(tmp_path):
    report = gpus.probe_gpus_direct(smi=str(tmp_path / "nvidia-smi"), proc_path=tmp_path / "a",
                                    sys_path=tmp_path / "b")
    if report.source != "nvml":  # this test machine has no NVIDIA driver
        assert report.gpus == [] and report.driver is None

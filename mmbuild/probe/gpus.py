"""GPUs and the NVIDIA driver.

Detection order for GPUs: ``torch.cuda`` when usable (read by
:mod:`mmbuild.probe.torch_probe`), else NVML through nvidia-ml-py (``import
pynvml``, optional), else ``nvidia-smi --query-gpu=... --format=csv``.
Detection order for the driver version: NVML, nvidia-smi (when it was run),
``/proc/driver/nvidia/version``, ``/sys/module/nvidia/version``.

Neither NVML nor nvidia-smi reports the per-block launch limits, so GPUs found
through them leave ``max_threads_per_block`` and ``regs_per_block`` empty (the
plan reads an empty value as the standard limits).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.model.environment import GPU, DriverInfo
from mmbuild.model.findings import Finding, finding
from mmbuild.probe.files import read_text
from mmbuild.util.process import run_command

SMI_FIELDS = ("index", "name", "compute_cap", "memory.total", "driver_version")
SMI_TIMEOUT_S = 10.0
PROC_DRIVER_VERSION = Path("/proc/driver/nvidia/version")
SYS_DRIVER_VERSION = Path("/sys/module/nvidia/version")

_DRIVER = re.compile(r"Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)")
_VERSION = re.compile(r"^\d+(?:\.\d+)+$")


@dataclass
class GpuReport:
    gpus: list[GPU] = field(default_factory=list)
    driver: DriverInfo | None = None
    source: str | None = None
    findings: list[Finding] = field(default_factory=list)


def parse_proc_driver_version(text: str) -> str | None:
    """``/proc/driver/nvidia/version`` -> "565.57.01" (proprietary and open kernel modules)."""
    match = _DRIVER.search(text)
    return match.group(1) if match else None


def parse_sys_module_version(text: str) -> str | None:
    """``/sys/module/nvidia/version`` -> "565.57.01"."""
    text = text.strip()
    return text if _VERSION.match(text) else None


def _mib(value: str) -> int | None:
    number = value.strip().split(" ")[0]
    try:
        return int(float(number))
    except ValueError:
        return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value in ("", "N/A", "[N/A]", "[Not Supported]") else value


def parse_nvidia_smi_csv(text: str) -> tuple[list[GPU], str | None]:
    """``nvidia-smi --query-gpu=... --format=csv`` (with its header line) -> (GPUs, driver version).

    Columns are found by the header, so any field order works; units ("81559 MiB")
    and "[N/A]" values are handled.
    """
    rows = [r for r in csv.reader(io.StringIO(text), skipinitialspace=True) if r]
    if not rows:
        return [], None
    header = [h.strip().split(" [")[0] for h in rows[0]]
    gpus, driver = [], None
    for position, row in enumerate(rows[1:]):
        cells = dict(zip(header, (c.strip() for c in row)))
        name = _clean(cells.get("name") or cells.get("gpu_name"))
        if name is None:
            continue
        index = _clean(cells.get("index"))
        memory = _clean(cells.get("memory.total"))
        gpus.append(GPU(
            index=int(index) if index and index.isdigit() else position,
            name=name,
            capability=_clean(cells.get("compute_cap")),
            memory_mib=_mib(memory) if memory else None,
        ))
        driver = driver or _clean(cells.get("driver_version"))
    return gpus, driver


def gpus_from_nvml_records(records: list[dict]) -> list[GPU]:
    """Raw NVML answers -> GPUs. Older pynvml returns names as bytes; capability is a (major, minor) pair."""
    gpus = []
    for position, record in enumerate(records):
        name = record.get("name")
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        cap = record.get("compute_capability")
        memory = record.get("memory_total")
        gpus.append(GPU(
            index=int(record.get("index", position)),
            name=str(name),
            capability=f"{cap[0]}.{cap[1]}" if cap else None,
            memory_mib=int(memory) // (1024 * 1024) if memory else None,
        ))
    return gpus


def decode_nvml_text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------- readers


def read_nvml() -> tuple[list[dict], str | None] | None:
    """(GPU records, driver version) through nvidia-ml-py, or None when NVML is not usable."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - optional dependency
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver / library: the next source answers
        return None
    try:
        driver = decode_nvml_text(pynvml.nvmlSystemGetDriverVersion())
        records = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            record: dict = {"index": i, "name": pynvml.nvmlDeviceGetName(handle)}
            try:
                record["compute_capability"] = tuple(pynvml.nvmlDeviceGetCudaComputeCapability(handle))
            except Exception:  # noqa: BLE001 - very old drivers lack it
                record["compute_capability"] = None
            try:
                record["memory_total"] = pynvml.nvmlDeviceGetMemoryInfo(handle).total
            except Exception:  # noqa: BLE001
                record["memory_total"] = None
            records.append(record)
        return records, driver
    except Exception:  # noqa: BLE001
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def read_nvidia_smi(executable: str = "nvidia-smi", timeout: float = SMI_TIMEOUT_S
                    ) -> tuple[list[GPU], str | None, Finding | None] | None:
    """GPUs and driver from nvidia-smi; None when it is not installed.

    Drivers before 510 do not know the ``compute_cap`` field; the query is then
    repeated without it.
    """
    fields = list(SMI_FIELDS)
    for _ in range(2):
        result = run_command([executable, f"--query-gpu={','.join(fields)}", "--format=csv"], timeout=timeout)
        if result.error and result.returncode is None and "not found" in result.error:
            return None
        if result.ok:
            gpus, driver = parse_nvidia_smi_csv(result.stdout)
            return gpus, driver, None
        output = result.stdout + result.stderr
        if "compute_cap" in output and "compute_cap" in fields:
            fields.remove("compute_cap")
            continue
        why = result.error or (output.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        return [], None, finding("probe-incomplete", message_key="gpus", why=why)
    return [], None, None


def read_driver_files(proc_path: Path = PROC_DRIVER_VERSION,
                      sys_path: Path = SYS_DRIVER_VERSION) -> str | None:
    text = read_text(proc_path)
    version = parse_proc_driver_version(text) if text else None
    if version is None:
        text = read_text(sys_path)
        version = parse_sys_module_version(text) if text else None
    return version


def probe_gpus_direct(smi: str = "nvidia-smi", proc_path: Path = PROC_DRIVER_VERSION,
                      sys_path: Path = SYS_DRIVER_VERSION) -> GpuReport:
    """GPUs and driver without torch: NVML, else nvidia-smi; the driver files last."""
    report = GpuReport()
    driver: str | None = None
    nvml = read_nvml()
    if nvml is not None:
        records, driver = nvml
        report.gpus, report.source = gpus_from_nvml_records(records), "nvml"
    else:
        smi_result = read_nvidia_smi(smi)
        if smi_result is not None:
            report.gpus, driver, finding = smi_result
            report.source = "nvidia-smi"
            _fill_capabilities(report.gpus)
            if finding is not None:
                report.findings.append(finding)
    driver = driver or read_driver_files(proc_path, sys_path)
    report.driver = DriverInfo(driver) if driver else None
    return report


def _fill_capabilities(found: list[GPU]) -> None:
    """nvidia-smi before 510 has no compute_cap: name the capability from the GPU table."""
    from mmbuild.knowledge.gpus import capability_for_name

    for gpu in found:
        if gpu.capability is None:
            gpu.capability = capability_for_name(gpu.name)


def merge_torch_gpus(torch_gpus: list[GPU], direct: GpuReport) -> GpuReport:
    """torch's GPUs win (they are what the build and the ops will see); the driver comes from ``direct``."""
    if not torch_gpus:
        return direct
    return GpuReport(list(torch_gpus), direct.driver, "torch", direct.findings)

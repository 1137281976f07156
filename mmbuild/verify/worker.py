"""The verify worker: imports mmcv and runs the in-process checks, one JSON line per event.

Run by the supervisor as ``python -m mmbuild.verify.worker``; a kernel that crashes this process
loses only the check in flight (announced by a ``start`` line before it runs).

Events: {"event": "info", ...facts...} · {"event": "start", "name", "device"} ·
{"event": "result", "check": {...CheckResult...}}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from mmbuild.errors import EXIT_OK
from mmbuild.verify.report import CheckResult


class Channel:
    """JSON lines on a private copy of stdout; anything mmcv prints goes to stderr instead."""

    def __init__(self) -> None:
        self._out: TextIO = os.fdopen(os.dup(sys.stdout.fileno()), "w")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def send(self, event: str, **payload: Any) -> None:
        self._out.write(json.dumps({"event": event, **payload}, default=str) + "\n")
        self._out.flush()

    def result(self, check: CheckResult) -> None:
        self.send("result", check=check.to_dict())


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _load(channel: Channel, name: str, statement: str) -> tuple[Any, CheckResult]:
    from mmbuild.verify.classify import classify_error

    started = time.perf_counter()
    namespace: dict[str, Any] = {}
    try:
        exec(statement, namespace)  # noqa: S102 - fixed import statements only
    except BaseException as exc:  # noqa: BLE001 - an import can raise anything
        text = "".join(traceback.format_exception_only(type(exc), exc))
        return None, CheckResult(name, "load", "-", "fail", seconds=round(time.perf_counter() - started, 4),
                                 id=classify_error(text) or "mmcv-ops-missing", message=_first_line(exc))
    return namespace.get("module"), CheckResult(name, "load", "-", "pass",
                                                seconds=round(time.perf_counter() - started, 4))


def _functions_of(ext: Any) -> list[str]:
    """The public functions of the loaded ``_ext`` (what mmcv's Python wrappers can call)."""
    if ext is None:
        return []
    return sorted(n for n in dir(ext) if not n.startswith("_") and callable(getattr(ext, n, None)))


def _gpu_facts(torch) -> list[dict[str, Any]]:
    gpus = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        gpus.append({"index": index, "name": props.name, "capability": f"{props.major}.{props.minor}",
                     "regs_per_block": getattr(props, "regs_per_block", None),
                     "max_threads_per_block": getattr(props, "max_threads_per_block", None)})
    return gpus


def _gpu_ops_present(ext, torch, device: str) -> CheckResult:
    """Calls one op on the GPU: a CPU-only build answers 'is not compiled with GPU support'."""
    from mmbuild.verify.classify import classify_error

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]], device=device)
    scores = torch.tensor([0.9, 0.8], device=device)
    try:
        ext.nms(boxes, scores, iou_threshold=0.5, offset=0)
        torch.cuda.synchronize()
    except Exception as exc:  # noqa: BLE001
        return CheckResult("cuda ops compiled", "abi", device, "fail", id=classify_error(str(exc)),
                           message=_first_line(exc))
    return CheckResult("cuda ops compiled", "abi", device, "pass")


def _cuda_build(metadata: dict[str, Any] | None, ext: Any) -> bool:
    """Whether the installed ops were built for CUDA: the embedded metadata says so, or (mmcv not
    built by mmbuild) its ``_ext`` holds GPU code."""
    if metadata is not None:
        return metadata.get("target") == "cuda"
    from mmbuild.verify.fatbin import NotAnElfFile, read_embedded_code

    try:
        return not read_embedded_code(ext.__file__).empty
    except (AttributeError, TypeError, OSError, NotAnElfFile):
        return False


def _no_gpu_reason(torch) -> str:
    """Why no CUDA device is visible, for the CUDA checks reported as skipped."""
    if torch.version.cuda is None:
        return f"no GPU visible: torch {torch.__version__} is a CPU build; not run on a GPU"
    return ("no GPU visible (torch.cuda.is_available() is False, torch built for CUDA "
            f"{torch.version.cuda}); not run on a GPU")


def _run_on_device(channel: Channel, device: str, checks: list, mm: SimpleNamespace, absent: str | None,
                   skip: set[str], seed: int, ext, torch) -> None:
    """Every check on one device; ``absent``: why the CUDA checks are skipped (no GPU visible)."""
    from mmbuild.verify.numeric import run_backward, run_forward

    if device != "cpu" and f"cuda ops compiled@{device}" not in skip:
        if absent and device == "cuda":
            channel.result(CheckResult("cuda ops compiled", "abi", device, "skip", message=absent))
        else:
            channel.send("start", name="cuda ops compiled", device=device)
            channel.result(_gpu_ops_present(ext, torch, device))
    for check in checks:
        names = [check.name] + ([f"{check.name}:backward"] if check.grad_inputs else [])
        for name in (n for n in names if f"{n}@{device}" not in skip):
            if device.split(":")[0] not in check.devices:
                channel.result(CheckResult(name, "numeric", device, "skip", seed=seed,
                                           message="mmcv runs this op on the CPU only; checked on cpu"))
            elif absent and device == "cuda":
                channel.result(CheckResult(name, "numeric", device, "skip", seed=seed, message=absent))
            else:
                channel.send("start", name=name, device=device)
                run = run_backward if name.endswith(":backward") else run_forward
                channel.result(run(check, mm, device, seed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmbuild.verify.worker")
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--ops", default="")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--skip", default="", help="name@device pairs already done or crashed")
    parser.add_argument("--no-load", action="store_true", help="load checks already reported")
    args = parser.parse_args(argv)
    channel = Channel()
    skip = set(filter(None, args.skip.split(",")))

    import torch

    from mmbuild.verify.build_vs_runtime import RuntimeTorch, check_build_vs_runtime, read_metadata
    from mmbuild.verify.opchecks import ALL_CHECKS, select_checks

    devices = []
    if args.device in ("cpu", "all"):
        devices.append("cpu")
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]

    mmcv, mmcv_result = _load(channel, "import mmcv", "import mmcv as module")
    mmcv_dir = Path(mmcv.__file__).parent if mmcv is not None and getattr(mmcv, "__file__", None) else None
    metadata = read_metadata(mmcv_dir) if mmcv_dir else None
    runtime = RuntimeTorch(torch.__version__, torch.version.cuda,
                           getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", None))
    ops, ops_result = _load(channel, "import mmcv.ops", "import mmcv.ops as module")
    ext, ext_result = _load(channel, "mmcv._ext", "from mmcv import _ext as module")
    channel.send("info", mmcv={"version": getattr(mmcv, "__version__", None),
                               "path": str(mmcv_dir) if mmcv_dir else None, "built_for": metadata},
                 devices=devices, gpus=_gpu_facts(torch) if torch.cuda.is_available() else [],
                 torch={"version": runtime.version, "cuda": runtime.cuda, "cxx11_abi": runtime.cxx11_abi,
                        "path": os.path.dirname(torch.__file__)},
                 ext_path=getattr(ext, "__file__", None),
                 ext_functions=_functions_of(ext),
                 check_functions={c.name: list(c.functions) for c in ALL_CHECKS})
    if not args.no_load:
        for result in (mmcv_result, ops_result, ext_result):
            channel.result(result)
        if mmcv is not None:
            for result in check_build_vs_runtime(metadata, runtime):
                channel.result(result)
    if ext is None:
        return EXIT_OK
    mm = SimpleNamespace(ext=ext, ops=ops, version=getattr(mmcv, "__version__", None))
    checks = select_checks([n for n in args.ops.split(",") if n])
    # A CUDA build with no GPU visible: its CUDA checks are reported as skipped on the device
    # "cuda" (no index: none exists), never run and never passed; ``devices`` lists only real ones.
    absent = None
    no_gpu = not any(d.startswith("cuda") for d in devices)
    if args.device in ("cuda", "all") and no_gpu and _cuda_build(metadata, ext):
        absent = _no_gpu_reason(torch)
    for device in devices + (["cuda"] if absent else []):
        _run_on_device(channel, device, checks, mm, absent, skip, args.seed, ext, torch)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

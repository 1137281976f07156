"""The stack-check worker for one downstream package, run in the target Python.

``python -m mmbuild.verify.stack.worker --package mmdet --device all --seed N`` prints the same
JSON-lines events as the ops worker (mmbuild/verify/worker.py): a ``start`` before each check, a
``result`` after it. Checks, in order: the package's bounds on mmcv and mmengine (read, not
imported), its import (every module its registries hold), one inference and one training step of
its check model on every device, and a Runner checkpoint saved and resumed. A release from before
mmengine (mmdet 2.x) runs the same steps through mmcv-full 1.x's interfaces
(verify/stack/mmcv_runner.py), its checkpoint saved and loaded back with ``mmcv.runner``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from mmbuild.errors import EXIT_OK
from mmbuild.model.environment import MMCV_DISTRIBUTIONS
from mmbuild.verify.report import CheckResult
from mmbuild.verify.stack.bounds import bound_checks, bounds_verdict
from mmbuild.verify.stack.packages import StackModel, model_for
from mmbuild.verify.worker import Channel

Outcome = tuple[str, str, "dict[str, Any] | None"]


def _first_line(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text.splitlines()[-1][:400] if text else type(exc).__name__


def run_check(channel: Channel, name: str, device: str, check: Callable[[], Outcome]) -> CheckResult:
    """Announce, run and report one check; an exception is its failure, with its last line."""
    channel.send("start", name=name, device=device)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        status, message, data = check()
    except BaseException as exc:  # noqa: BLE001 - a model can raise anything
        status, message, data = "fail", _first_line(exc), None
        sys.stderr.write(traceback.format_exc())
    # CPU time beside wall time: on a busy machine the wall time says more about the others.
    data = {**(data or {}), "cpu_seconds": round(time.process_time() - cpu_started, 3)}
    result = CheckResult(name, "stack", device, status, seconds=round(time.perf_counter() - started, 3),
                         message=message, data=data)
    channel.result(result)
    return result


def _installed(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_bounds(model: StackModel) -> Outcome:
    spec = find_spec(model.module)
    if spec is None or spec.origin is None:
        return "fail", f"{model.module} is not importable from this Python", None
    text = Path(spec.origin).read_text(encoding="utf-8", errors="replace")
    versions = {"mmcv": _installed(MMCV_DISTRIBUTIONS),
                "mmengine": _installed(("mmengine", "onedl-mmengine"))}
    checks = bound_checks(text, versions)
    status, message = bounds_verdict(checks)
    if status == "fail":
        message += " (mmbuild install <package> picks versions that fit)"
    return status, message, {c.subject: {"installed": c.installed, "range": c.range} for c in checks}


def check_import(model: StackModel) -> Outcome:
    package = importlib.import_module(model.module)
    if model.framework == "mmcv-runner":       # importing its models fills its registries
        importlib.import_module(f"{model.module}.models")
    else:
        importlib.import_module(f"{model.module}.utils").register_all_modules(init_default_scope=False)
    return "pass", f"{model.module} {getattr(package, '__version__', '?')} and every registered module", None


def _ext_module():
    return importlib.import_module("mmcv._ext")


def _through_ops(model: StackModel, run: Callable[[], str]) -> Outcome:
    from mmbuild.verify.stack.ext_calls import counted_ext_calls, describe_calls, missing_ops

    if not model.ops:
        return "pass", run(), None
    with counted_ext_calls(_ext_module(), model.ops) as counts:
        said = run()
    data = {"ext_calls": dict(counts)}
    missing = missing_ops(counts, model.ops)
    if missing:
        return ("fail", f"{said}; never reached mmcv's {', '.join(missing)} "
                        f"(calls: {describe_calls(counts)})", data)
    return "pass", f"{said}; through mmcv ops: {describe_calls(counts)}", data


def check_inference(model: StackModel, built, device: str, seed: int) -> Outcome:
    import torch

    from mmbuild.verify.stack import mmcv_runner, models

    if model.framework == "mmcv-runner":
        return _through_ops(model, lambda: mmcv_runner.inference(built, device, seed))

    def run() -> str:
        built.eval()
        with torch.no_grad():
            outputs = built.test_step(models.batch(model, seed, train=False))
        return models.describe_predictions(model, outputs)

    return _through_ops(model, run)


def check_train_step(model: StackModel, built, device: str, seed: int) -> Outcome:
    import math

    from mmbuild.verify.stack import mmcv_runner, models

    if model.framework == "mmcv-runner":
        return _through_ops(model, lambda: mmcv_runner.train_step(built, device, seed))
    from mmengine.optim import OptimWrapper
    from torch.optim import SGD

    def run() -> str:
        built.train()
        wrapper = OptimWrapper(SGD(built.parameters(), lr=1e-4, momentum=0.9))
        losses = built.train_step(models.batch(model, seed, train=True), wrapper)
        total = float(sum(v for k, v in losses.items() if "loss" in k))
        if not math.isfinite(total):
            raise FloatingPointError(f"the losses are not finite: {losses}")
        return f"loss {total:.3f} ({len(losses)} terms), one SGD step"

    return _through_ops(model, run)


def devices_for(choice: str, torch) -> tuple[list[str], str | None]:
    """(devices to run on, why CUDA is skipped when torch has CUDA but no GPU is visible)."""
    from mmbuild.verify.worker import _no_gpu_reason

    devices = ["cpu"] if choice in ("cpu", "all") else []
    if choice in ("cuda", "all"):
        if torch.cuda.is_available():
            devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        elif torch.version.cuda is not None:
            return devices, _no_gpu_reason(torch)
    return devices, None


def _model_steps(channel: Channel, model: StackModel, device: str, seed: int, wanted):
    """Inference and one training step of the check model on one device (built once for both);
    returns the model (None when it could not be built)."""
    from mmbuild.verify.stack import mmcv_runner, models

    build_model = mmcv_runner.build_model if model.framework == "mmcv-runner" else models.build_model
    steps = [(f"{model.distribution} {model.label} inference", check_inference),
             (f"{model.distribution} {model.label} train step", check_train_step)]
    steps = [(name, check) for name, check in steps if wanted(name, device)]
    try:
        built = build_model(model, device)
    except Exception as exc:  # noqa: BLE001 - reported as the steps' failure
        failure = f"model not built: {_first_line(exc)}"
        for name, _ in steps:
            run_check(channel, name, device, lambda: ("fail", failure, None))
        return None
    for name, check in steps:
        run_check(channel, name, device, lambda c=check: c(model, built, device, seed))
    return built


def run_package(channel: Channel, model: StackModel, device_choice: str, seed: int, skip: set[str]) -> None:
    """Every check of one package, in the order of the module docstring; none after a failed import."""
    def wanted(name: str, device: str) -> bool:
        return f"{name}@{device}" not in skip

    prefix = model.distribution
    if wanted(f"{prefix} bounds", "-"):
        run_check(channel, f"{prefix} bounds", "-", lambda: check_bounds(model))
    if wanted(f"{prefix} import", "-") and \
            run_check(channel, f"{prefix} import", "-", lambda: check_import(model)).status == "fail":
        return
    import torch

    devices, absent = devices_for(device_choice, torch)
    built = None
    for device in devices:
        built = _model_steps(channel, model, device, seed, wanted)
    if absent:
        for step in ("inference", "train step"):
            name = f"{prefix} {model.label} {step}"
            channel.result(CheckResult(name, "stack", "cuda", "skip", message=absent))
    runner_device = devices[-1] if devices else None
    name, save_and_load = _checkpoint_check(model)
    if runner_device and wanted(name, runner_device):
        with tempfile.TemporaryDirectory(prefix="mmbuild-stack-") as work:
            run_check(channel, name, runner_device, lambda: save_and_load(model, built, Path(work), seed))


def _checkpoint_check(model: StackModel) -> tuple[str, Callable]:
    """The checkpoint check's name and function: mmengine's Runner resume, or mmcv.runner's save and load."""
    if model.framework == "mmcv-runner":
        from mmbuild.verify.stack.mmcv_runner import save_and_load

        return f"{model.distribution} checkpoint reload", save_and_load
    from mmbuild.verify.stack.runner_check import save_and_resume

    return f"{model.distribution} runner resume", save_and_resume


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmbuild.verify.stack.worker")
    parser.add_argument("--package", required=True, help="distribution name, e.g. mmdet")
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", default="", help="name@device pairs already done or crashed")
    args = parser.parse_args(argv)
    channel = Channel()
    model = model_for(args.package, _installed((args.package,)))
    if model is None:
        channel.result(CheckResult(f"{args.package} import", "stack", "-", "skip",
                                   message="no stack check model for this package"))
        return EXIT_OK
    run_package(channel, model, args.device, args.seed, set(filter(None, args.skip.split(","))))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

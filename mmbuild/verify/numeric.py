"""Running one numeric check on one device: forward, then backward where the op is differentiable."""

from __future__ import annotations

import time
import zlib
from typing import Any

import torch
from packaging.version import Version

from mmbuild.knowledge.versions import parse_version
from mmbuild.verify.classify import classify_error, missing_device_kernel, not_built_in_subset
from mmbuild.verify.compare import Comparison, compare
from mmbuild.verify.opchecks import Inputs, OpCheck, Outputs
from mmbuild.verify.report import CheckResult


def check_seed(seed: int, name: str) -> int:
    """Each op draws its own inputs from the run's seed, so ``--seed`` replays every op."""
    return (seed ^ zlib.crc32(name.encode())) & 0x7FFFFFFF


def _to(inputs: Inputs, device: str, dtype: torch.dtype | None = None, grad: tuple[str, ...] = ()) -> Inputs:
    moved = {}
    for key, value in inputs.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device)
            if dtype is not None and value.is_floating_point():
                value = value.to(dtype)
            if key in grad:
                value = value.detach().clone().requires_grad_(True)
        moved[key] = value
    return moved


def _as_tuple(outputs: Any) -> Outputs:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _compare_all(actual: Outputs, expected: Outputs, label: str, gradient: bool = False) -> Comparison:
    if len(actual) != len(expected):
        return Comparison(False, float("inf"), f"{label}: {len(actual)} outputs, expected {len(expected)}")
    worst = Comparison(True, 0.0)
    for i, (a, e) in enumerate(zip(actual, expected)):
        result = compare(f"{label} output {i}", a, e, gradient)
        if not result.ok:
            return result
        worst = result if result.max_error > worst.max_error else worst
    return worst


def _failure(check: OpCheck, name: str, device: str, seed: int, exc: BaseException,
             started: float) -> CheckResult:
    text = f"{type(exc).__name__}: {exc}".strip()
    first_line = text.splitlines()[0] if text else type(exc).__name__
    seconds = time.perf_counter() - started
    if not_built_in_subset(text):
        return CheckResult(name, "numeric", device, "skip", seconds=seconds, seed=seed,
                           message=f"op not built in this subset build ({first_line[:300]})")
    if missing_device_kernel(text) == device.split(":")[0]:
        return CheckResult(name, "numeric", device, "skip", seconds=seconds, seed=seed,
                           message=f"no {device.split(':')[0].upper()} kernel in this mmcv ({first_line})")
    return CheckResult(name, "numeric", device, "fail", seconds=seconds, seed=seed,
                       id=classify_error(text), message=first_line[:500])


def _missing_functions(check: OpCheck, mm: Any, name: str, device: str, seed: int) -> CheckResult | None:
    missing = [f for f in check.functions if not hasattr(mm.ext, f)]
    if not missing:
        return None
    version = parse_version(getattr(mm, "version", None))
    if check.since and version is not None and version < Version(check.since):
        return CheckResult(name, "numeric", device, "skip", seed=seed,
                           message=f"mmcv {version} has no {check.name} (it came in {check.since})")
    return CheckResult(name, "numeric", device, "fail", seed=seed, id="mmcv-ops-missing",
                       message=f"mmcv._ext has no function {', '.join(missing)}")


def _reference(check: OpCheck, inputs: Inputs, grad: tuple[str, ...] = ()) -> tuple[Inputs, Outputs]:
    ref_inputs = _to(inputs, "cpu", torch.float64 if check.upcast else None, grad)
    return ref_inputs, _as_tuple(check.reference(ref_inputs))


def run_forward(check: OpCheck, mm: Any, device: str, seed: int) -> CheckResult:
    started = time.perf_counter()
    missing = _missing_functions(check, mm, check.name, device, seed)
    if missing:
        return missing
    gen = torch.Generator().manual_seed(check_seed(seed, check.name))
    inputs = check.make_inputs(gen)
    try:
        actual = _as_tuple(check.run(mm, _to(inputs, device)))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    except Exception as exc:  # noqa: BLE001 - any kernel error is a result
        return _failure(check, check.name, device, seed, exc, started)
    _, expected = _reference(check, inputs)
    result = _compare_all(actual, expected, "vs reference")
    if result.ok and device != "cpu" and "cpu" in check.devices:
        try:
            on_cpu = _as_tuple(check.run(mm, _to(inputs, "cpu")))
        except Exception:  # noqa: BLE001 - a missing CPU kernel leaves the reference alone
            on_cpu = None
        if on_cpu is not None:
            cpu_result = _compare_all(actual, on_cpu, "vs CPU kernel")
            result = cpu_result if not cpu_result.ok else result
    return CheckResult(check.name, "numeric", device, "pass" if result.ok else "fail",
                       max_error=result.max_error if result.max_error != float("inf") else None,
                       seconds=round(time.perf_counter() - started, 4), seed=seed,
                       message=result.message)


def run_backward(check: OpCheck, mm: Any, device: str, seed: int) -> CheckResult:
    """Gradients of a random projection of the first output, kernel vs the reference's autograd."""
    name = f"{check.name}:backward"
    started = time.perf_counter()
    missing = _missing_functions(check, mm, name, device, seed)
    if missing:
        return missing
    gen = torch.Generator().manual_seed(check_seed(seed, check.name))
    inputs = check.make_inputs(gen)
    grad = check.grad_inputs
    run = check.run_grad or check.run
    try:
        kernel_inputs = _to(inputs, device, grad=grad)
        out = _as_tuple(run(mm, kernel_inputs))[0]
        projection = torch.randn(out.shape, generator=gen)
        (out * projection.to(device=out.device, dtype=out.dtype)).sum().backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        actual = tuple(kernel_inputs[k].grad if kernel_inputs[k].grad is not None
                       else torch.zeros_like(kernel_inputs[k]) for k in grad)
    except Exception as exc:  # noqa: BLE001 - any kernel error is a result
        return _failure(check, name, device, seed, exc, started)
    ref_inputs, ref_out = _reference(check, inputs, grad)
    (ref_out[0] * projection.to(ref_out[0].dtype)).sum().backward()
    expected = tuple(ref_inputs[k].grad if ref_inputs[k].grad is not None
                     else torch.zeros_like(ref_inputs[k]) for k in grad)
    result = _compare_all(actual, expected, "gradient", gradient=True)
    if not result.ok:
        result.message = result.message.replace("output", "of", 1)
    return CheckResult(name, "numeric", device, "pass" if result.ok else "fail",
                       max_error=result.max_error if result.max_error != float("inf") else None,
                       seconds=round(time.perf_counter() - started, 4), seed=seed, message=result.message)

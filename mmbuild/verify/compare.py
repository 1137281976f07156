"""Comparing a kernel's output with a reference: tolerances by dtype; NaN never passes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

# (absolute, relative) tolerance by the dtype of the kernel's output.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (5e-2, 5e-2),
    torch.float32: (1e-4, 1e-4),
    torch.float64: (1e-9, 1e-9),
}
# Gradients sum many products: one order looser.
GRADIENT_SCALE = 10.0


@dataclass
class Comparison:
    ok: bool
    max_error: float
    message: str = ""


def tolerance_for(dtype: torch.dtype, gradient: bool = False) -> tuple[float, float]:
    """(atol, rtol) for a floating dtype; integers and bools compare exactly."""
    atol, rtol = TOLERANCES.get(dtype, (0.0, 0.0))
    scale = GRADIENT_SCALE if gradient else 1.0
    return atol * scale, rtol * scale


def compare(label: str, actual: torch.Tensor, expected: torch.Tensor, gradient: bool = False) -> Comparison:
    """Compare one output; the error is the largest absolute difference."""
    actual = actual.detach().cpu()
    expected = expected.detach().cpu()
    if tuple(actual.shape) != tuple(expected.shape):
        return Comparison(False, float("inf"),
                          f"{label}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    if actual.numel() == 0:
        return Comparison(True, 0.0)
    if not (actual.is_floating_point() or expected.is_floating_point()):
        wrong = int((actual.long() != expected.long()).sum())
        if wrong:
            return Comparison(False, float((actual.long() - expected.long()).abs().max()),
                              f"{label}: {wrong} of {actual.numel()} values differ")
        return Comparison(True, 0.0)
    finite = torch.isfinite(actual)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        return Comparison(False, float("inf"),
                          f"{label}: {bad} of {actual.numel()} values are NaN/inf or were never written")
    atol, rtol = tolerance_for(actual.dtype, gradient)
    a64, e64 = actual.double(), expected.double()
    error = float((a64 - e64).abs().max())
    if not torch.allclose(a64, e64, atol=atol, rtol=rtol, equal_nan=False):
        return Comparison(False, error,
                          f"{label}: max error {error:.3g} exceeds atol {atol:g} / rtol {rtol:g}")
    return Comparison(True, error)


def poisoned(shape: tuple[int, ...] | list[int], dtype: torch.dtype,
             device: torch.device | str) -> torch.Tensor:
    """An output buffer filled with a value no kernel writes: NaN, or a sentinel for integers."""
    if dtype.is_floating_point:
        return torch.full(tuple(shape), float("nan"), dtype=dtype, device=device)
    return torch.full(tuple(shape), -7777777, dtype=dtype, device=device)

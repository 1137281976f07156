"""Oriented filters: ActiveRotatingFilter (Zhou et al. 2017, ORN)."""

from __future__ import annotations

import torch


def active_rotated_filter(weight: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """(O, I, orientations, kH, kW) weight, (orientations, kH, kW, rotations) 1-based indices
    -> (O * rotations, I * orientations, kH, kW): each rotation scatters the weight's entries to
    the positions ``indices`` names."""
    out_planes, in_planes, orientations, kh, kw = weight.shape
    rotations = indices.shape[-1]
    entries = orientations * kh * kw
    flat = weight.reshape(out_planes, in_planes, entries)
    targets = indices.reshape(entries, rotations).long() - 1
    rotated = []
    for k in range(rotations):
        scattered = flat.new_zeros(out_planes, in_planes, entries)
        scattered = scattered.index_add(2, targets[:, k], flat)
        rotated.append(scattered)
    out = torch.stack(rotated, dim=1)  # (O, rotations, I, entries)
    return out.reshape(out_planes * rotations, in_planes * orientations, kh, kw)

"""Text-instance grouping by region growing: PAN's pixel aggregation and PSENet's progressive scale
expansion. Both grow labelled kernels over 4-connected pixels, one ring per step."""

from __future__ import annotations

import torch

_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def _shift(grid: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``grid`` moved by (dy, dx): out[y, x] = grid[y - dy, x - dx], 0 where that is outside."""
    out = torch.zeros_like(grid)
    height, width = grid.shape
    out[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        grid[max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return out


def _grow(labels: torch.Tensor, front: torch.Tensor, allowed, region_num: int) -> torch.Tensor:
    """Grow ``labels`` (1 .. region_num-1) from the pixels in ``front`` until no pixel joins.

    ``allowed(label)`` says where an unlabelled pixel may take ``label`` from a neighbour. A pixel
    reached by two labels in the same step takes the smaller; callers avoid that case.
    """
    while bool(front.any()):
        grown = labels.clone()
        joined = torch.zeros_like(front)
        for label in range(1, region_num):
            source = front & (labels == label)
            if not bool(source.any()):
                continue
            reached = torch.zeros_like(source)
            for dy, dx in _NEIGHBOURS:
                reached |= _shift(source, dy, dx)
            joins = reached & (labels == 0) & ~joined & allowed(label)
            grown[joins] = label
            joined |= joins
        labels, front = grown, joined
    return labels


def contour_expand(kernel_masks: torch.Tensor, kernel_labels: torch.Tensor,
                   min_kernel_area: int) -> torch.Tensor:
    """Progressive scale expansion (Wang et al. 2019, PSENet) -> (H, W) instance labels.

    kernel_masks (K, H, W), largest kernel first; kernel_labels (H, W) labels the smallest
    kernel's regions. Labels smaller than ``min_kernel_area`` pixels are dropped; the rest grow
    through kernels K-2 .. 0 in turn.
    """
    labels = kernel_labels.long()
    areas = torch.bincount(labels.flatten())
    labels = torch.where(areas[labels] >= min_kernel_area, labels, 0)
    for kernel in range(kernel_masks.shape[0] - 2, -1, -1):
        inside = kernel_masks[kernel] > 0
        labels = _grow(labels, labels > 0, lambda label, inside=inside: inside, len(areas))
    return labels


def pixel_group(score: torch.Tensor, mask: torch.Tensor, embedding: torch.Tensor,
                kernel_label: torch.Tensor, kernel_contour: torch.Tensor, region_num: int,
                distance_threshold: float) -> list[list[float]]:
    """Pixel aggregation (Wang et al. 2019, PAN).

    Kernels grow from their contour pixels into foreground (``mask``) pixels whose embedding
    (H, W, D) lies within ``distance_threshold`` of the kernel's mean embedding. Returns, for each
    label 0 .. region_num-1: [mean score, pixel count, x, y, x, y, ...] in raster order (label 0,
    the background, is [0, 0]).
    """
    labels = kernel_label.long()
    means = torch.zeros((region_num, embedding.shape[-1]), dtype=torch.float64)
    for label in range(1, region_num):
        means[label] = embedding[labels == label].double().mean(dim=0)
    squared = ((embedding.double()[None] - means[:, None, None]) ** 2).sum(dim=-1)  # (R, H, W)
    close = squared < distance_threshold ** 2

    def allowed(label: int) -> torch.Tensor:
        return mask.bool() & close[label]

    labels = _grow(labels, (kernel_contour > 0) & (labels > 0), allowed, region_num)
    groups: list[list[float]] = [[0.0, 0.0]]
    for label in range(1, region_num):
        ys, xs = torch.nonzero(labels == label, as_tuple=True)
        count = len(ys)
        mean_score = float(score[ys, xs].double().sum()) / count if count else 0.0
        coords = torch.stack([xs, ys], dim=1).flatten().tolist()
        groups.append([mean_score, float(count), *map(float, coords)])
    return groups

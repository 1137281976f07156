"""Axis-aligned boxes (x1, y1, x2, y2): overlaps and the NMS family."""

from __future__ import annotations

import math

import torch


def bbox_overlaps(boxes1: torch.Tensor, boxes2: torch.Tensor, mode: str = "iou",
                  aligned: bool = False, offset: int = 0) -> torch.Tensor:
    """IoU (or intersection over the first box's area, ``iof``) of every pair, or of aligned rows."""
    if aligned:
        lt = torch.maximum(boxes1[:, :2], boxes2[:, :2])
        rb = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    else:
        lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
        rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt + offset).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area1 = (boxes1[:, 2] - boxes1[:, 0] + offset) * (boxes1[:, 3] - boxes1[:, 1] + offset)
    area2 = (boxes2[:, 2] - boxes2[:, 0] + offset) * (boxes2[:, 3] - boxes2[:, 1] + offset)
    if not aligned:
        area1, area2 = area1[:, None], area2[None, :]
    union = area1 + area2 - inter if mode == "iou" else area1.expand_as(inter)
    return inter / union


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, offset: int = 0) -> torch.Tensor:
    """Greedy NMS: indices kept, highest score first; a box goes when IoU > threshold."""
    order = torch.argsort(scores, descending=True)
    ious = bbox_overlaps(boxes, boxes, offset=offset)
    keep: list[int] = []
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= ious[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """NMS within each label, the union ordered by score."""
    keep = []
    for label in labels.unique().tolist():
        members = torch.nonzero(labels == label).flatten()
        keep.append(members[nms(boxes[members], scores[members], iou_threshold)])
    kept = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.long)
    return kept[torch.argsort(scores[kept], descending=True)]


def soft_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, sigma: float,
             min_score: float, method: str, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-NMS (Bodla et al. 2017): pick the best, decay the others' scores by their IoU with it.

    Returns (kept indices in pick order, their scores at the time they were picked).
    """
    ious = bbox_overlaps(boxes, boxes, offset=offset)
    current = scores.clone()
    alive = list(range(len(boxes)))
    keep, kept_scores = [], []
    while alive:
        best = max(alive, key=lambda i: float(current[i]))
        alive.remove(best)
        keep.append(best)
        kept_scores.append(float(current[best]))
        survivors = []
        for j in alive:
            ovr = float(ious[best, j])
            if method == "naive":
                weight = 0.0 if ovr >= iou_threshold else 1.0
            elif method == "linear":
                weight = 1.0 - ovr if ovr >= iou_threshold else 1.0
            else:
                weight = math.exp(-(ovr * ovr) / sigma)
            current[j] = current[j] * weight
            if float(current[j]) >= min_score:
                survivors.append(j)
        alive = survivors
    return torch.tensor(keep, dtype=torch.long), torch.tensor(kept_scores, dtype=scores.dtype)


def nms_match(dets: torch.Tensor, iou_threshold: float) -> list[list[int]]:
    """Greedy NMS that also reports what each kept box suppressed: [[kept, suppressed...], ...].

    A box joins the group of the first kept box it overlaps with IoU >= threshold.
    """
    boxes, scores = dets[:, :4], dets[:, 4]
    order = torch.argsort(scores, descending=True).tolist()
    ious = bbox_overlaps(boxes, boxes)
    taken = [False] * len(order)
    groups = []
    for i in order:
        if taken[i]:
            continue
        taken[i] = True
        group = [i]
        for j in order:
            if not taken[j] and float(ious[i, j]) >= iou_threshold:
                taken[j] = True
                group.append(j)
        groups.append(group)
    return groups

"""Rotated boxes and quadrilaterals: exact convex-polygon IoU and NMS over it.

Intersections are computed by Sutherland-Hodgman clipping in float64 Python, so
they are independent of the kernels' edge-intersection code.
"""

from __future__ import annotations

import math

import torch

Point = tuple[float, float]


def rotated_box_corners(box: list[float]) -> list[Point]:
    """Corners of (x_ctr, y_ctr, w, h, angle): the box rotated by ``angle`` radians (x right, y down)."""
    cx, cy, w, h, angle = box[:5]
    c, s = math.cos(angle), math.sin(angle)
    local = [(-w / 2, h / 2), (-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2)]
    return [(cx + c * dx - s * dy, cy + s * dx + c * dy) for dx, dy in local]


def polygon_area(points: list[Point]) -> float:
    """Unsigned shoelace area."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def _counter_clockwise(points: list[Point]) -> list[Point]:
    signed = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]))
    return points if signed >= 0 else points[::-1]


def clip_convex(subject: list[Point], clip: list[Point]) -> list[Point]:
    """Sutherland-Hodgman: the part of polygon ``subject`` inside convex polygon ``clip``."""
    clip = _counter_clockwise(clip)
    output = list(subject)
    for (ax, ay), (bx, by) in zip(clip, clip[1:] + clip[:1]):
        if not output:
            break

        def side(p: Point, ax=ax, ay=ay, bx=bx, by=by) -> float:
            return (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)

        points, output = output, []
        for current, previous in zip(points, points[-1:] + points[:-1]):
            s_cur, s_prev = side(current), side(previous)
            if s_cur >= 0:
                if s_prev < 0:
                    output.append(_crossing(previous, current, s_prev, s_cur))
                output.append(current)
            elif s_prev >= 0:
                output.append(_crossing(previous, current, s_prev, s_cur))
    return output


def _crossing(p: Point, q: Point, sp: float, sq: float) -> Point:
    t = sp / (sp - sq)
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))


def polygon_iou(poly1: list[Point], poly2: list[Point], mode: str = "iou") -> float:
    """IoU (or intersection over the first polygon's area, ``iof``) of two convex polygons."""
    area1, area2 = polygon_area(poly1), polygon_area(poly2)
    if area1 < 1e-14 or area2 < 1e-14:
        return 0.0
    inter_points = clip_convex(poly1, poly2)
    inter = polygon_area(inter_points) if len(inter_points) >= 3 else 0.0
    base = area1 + area2 - inter if mode == "iou" else area1
    return inter / base


def quad_corners(quad: list[float]) -> list[Point]:
    """(x1, y1, ..., x4, y4) as four points."""
    return [(quad[2 * i], quad[2 * i + 1]) for i in range(4)]


def pairwise_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, corners, mode: str = "iou",
                 aligned: bool = False) -> torch.Tensor:
    """IoU of every pair (or of aligned rows) of polygons given by ``corners(row)``."""
    polys1 = [corners(b) for b in boxes1.double().tolist()]
    polys2 = [corners(b) for b in boxes2.double().tolist()]
    if aligned:
        values = [polygon_iou(p, q, mode) for p, q in zip(polys1, polys2)]
        return torch.tensor(values, dtype=torch.float64)
    values = [[polygon_iou(p, q, mode) for q in polys2] for p in polys1]
    return torch.tensor(values, dtype=torch.float64).reshape(len(polys1), len(polys2))


def box_iou_rotated(boxes1: torch.Tensor, boxes2: torch.Tensor, mode: str = "iou",
                    aligned: bool = False) -> torch.Tensor:
    return pairwise_iou(boxes1, boxes2, rotated_box_corners, mode, aligned)


def box_iou_quadri(boxes1: torch.Tensor, boxes2: torch.Tensor, mode: str = "iou",
                   aligned: bool = False) -> torch.Tensor:
    return pairwise_iou(boxes1, boxes2, quad_corners, mode, aligned)


def greedy_nms(ious: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices kept by greedy NMS over a precomputed IoU matrix, highest score first."""
    keep: list[int] = []
    suppressed = torch.zeros(len(scores), dtype=torch.bool)
    for i in torch.argsort(scores, descending=True).tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= ious[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def nms_rotated(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    return greedy_nms(box_iou_rotated(boxes, boxes), scores, iou_threshold)


def nms_quadri(quads: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    return greedy_nms(box_iou_quadri(quads, quads), scores, iou_threshold)

"""The numeric checks: for each op, random inputs, the call under test and its reference.

Each check calls mmcv the way mmcv's own Python wrappers do (``mm.ext`` is ``mmcv._ext``,
``mm.ops`` is ``mmcv.ops``). Where the kernel writes into a buffer it is given, the check
passes a poisoned buffer (NaN or a sentinel), so elements the kernel never writes fail.
Inputs are built on the CPU from a seeded generator; the runner moves them to the device.

The module is one table of checks, one small entry per op, and is longer than the others for it:
splitting the table would only scatter entries that are read one at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

from mmbuild.verify.compare import poisoned
from mmbuild.verify.references import boxes as ref_boxes
from mmbuild.verify.references import filters as ref_filters
from mmbuild.verify.references import grouping as ref_grouping
from mmbuild.verify.references import losses as ref_losses
from mmbuild.verify.references import masks as ref_masks
from mmbuild.verify.references import points as ref_points
from mmbuild.verify.references import polygons as ref_polygons
from mmbuild.verify.references import sampling as ref_sampling

Inputs = dict[str, Any]
Outputs = tuple[torch.Tensor, ...]


@dataclass
class OpCheck:
    """One op: ``run(mm, inputs)`` is the kernel under test, ``reference(inputs)`` the expected outputs.

    ``grad_inputs`` names the differentiable inputs: the backward check compares the gradients of
    ``run_grad`` (``run`` when absent) with those of the reference. ``upcast`` computes the reference
    in float64; decisions with thresholds (NMS) use the kernel's own dtype instead.
    """

    name: str
    functions: tuple[str, ...]
    make_inputs: Callable[[torch.Generator], Inputs]
    run: Callable[[Any, Inputs], Outputs]
    reference: Callable[[Inputs], Outputs]
    grad_inputs: tuple[str, ...] = ()
    run_grad: Callable[[Any, Inputs], Outputs] | None = None
    devices: tuple[str, ...] = ("cpu", "cuda")
    upcast: bool = True
    since: str | None = None       # the first mmcv release with the op (older ones skip the check)


# ---- random inputs -------------------------------------------------------------------------------

def _uniform(gen: torch.Generator, shape, low: float, high: float) -> torch.Tensor:
    return torch.rand(shape, generator=gen) * (high - low) + low


def _boxes(gen: torch.Generator, n: int, span: float = 40.0) -> torch.Tensor:
    """Clustered (x1, y1, x2, y2) boxes, so that many pairs overlap."""
    xy = _uniform(gen, (n, 2), 0, span)
    wh = _uniform(gen, (n, 2), 4, 24)
    return torch.cat([xy, xy + wh], dim=1)


def _rotated_boxes(gen: torch.Generator, n: int) -> torch.Tensor:
    centre = _uniform(gen, (n, 2), 10, 40)
    size = _uniform(gen, (n, 2), 6, 24)
    angle = _uniform(gen, (n, 1), -math.pi / 2, math.pi / 2)
    return torch.cat([centre, size, angle], dim=1)


def _quads(gen: torch.Generator, n: int) -> torch.Tensor:
    """Convex quadrilaterals: the corners of random rotated boxes."""
    corners = [ref_polygons.rotated_box_corners(b) for b in _rotated_boxes(gen, n).double().tolist()]
    return torch.tensor([[c for point in quad for c in point] for quad in corners], dtype=torch.float32)


def _distinct_scores(gen: torch.Generator, n: int) -> torch.Tensor:
    return (torch.randperm(n, generator=gen).float() + _uniform(gen, (n,), 0.1, 0.9)) / n


def _rois(gen: torch.Generator, n: int, batch: int, size: int, scale: float) -> torch.Tensor:
    """(batch index, x1, y1, x2, y2) in image coordinates; some reach past the feature map."""
    extent = size / scale
    xy = _uniform(gen, (n, 2), -2, extent * 0.8)
    wh = _uniform(gen, (n, 2), 2, extent * 0.6)
    index = torch.randint(0, batch, (n, 1), generator=gen).float()
    return torch.cat([index, xy, xy + wh], dim=1)


# ---- boxes ---------------------------------------------------------------------------------------

def _nms_inputs(gen):
    return {"boxes": _boxes(gen, 64), "scores": _distinct_scores(gen, 64)}


NMS = OpCheck(
    "nms", ("nms",), _nms_inputs,
    run=lambda mm, x: (mm.ext.nms(x["boxes"], x["scores"], iou_threshold=0.5, offset=0),),
    reference=lambda x: (ref_boxes.nms(x["boxes"], x["scores"], 0.5),),
    upcast=False,
)


def _batched_nms_inputs(gen):
    return {**_nms_inputs(gen), "labels": torch.randint(0, 4, (64,), generator=gen)}


def _batched_nms_run(mm, x):
    dets, keep = mm.ops.batched_nms(x["boxes"], x["scores"], x["labels"], {"iou_threshold": 0.5})
    return keep, dets[:, 4]


def _batched_nms_reference(x):
    keep = ref_boxes.batched_nms(x["boxes"], x["scores"], x["labels"], 0.5)
    return keep, x["scores"][keep]


BATCHED_NMS = OpCheck("batched_nms", ("nms",), _batched_nms_inputs, _batched_nms_run,
                      _batched_nms_reference, upcast=False)


def _soft_nms_run(mm, x):
    dets = poisoned((len(x["boxes"]), 5), x["boxes"].dtype, "cpu")
    inds = mm.ext.softnms(x["boxes"].cpu(), x["scores"].cpu(), dets, iou_threshold=0.3, sigma=0.5,
                          min_score=0.05, method=1, offset=0)
    return inds, dets[:len(inds), 4], dets[:len(inds), :4]


def _soft_nms_reference(x):
    keep, kept_scores = ref_boxes.soft_nms(x["boxes"], x["scores"], 0.3, 0.5, 0.05, "linear")
    return keep, kept_scores, x["boxes"][keep]


SOFT_NMS = OpCheck("soft_nms", ("softnms",), _nms_inputs, _soft_nms_run, _soft_nms_reference,
                   devices=("cpu",), upcast=False)


def _flatten_groups(groups) -> torch.Tensor:
    """[[kept, suppressed...], ...] as one tensor with -1 between groups."""
    flat: list[int] = []
    for group in groups:
        flat.extend(int(v) for v in group)
        flat.append(-1)
    return torch.tensor(flat, dtype=torch.long)


def _nms_match_inputs(gen):
    return {"dets": torch.cat([_boxes(gen, 48), _distinct_scores(gen, 48)[:, None]], dim=1)}


NMS_MATCH = OpCheck(
    "nms_match", ("nms_match",), _nms_match_inputs,
    run=lambda mm, x: (_flatten_groups(mm.ext.nms_match(x["dets"].cpu(), iou_threshold=0.4)),),
    reference=lambda x: (_flatten_groups(ref_boxes.nms_match(x["dets"], 0.4)),),
    devices=("cpu",), upcast=False,
)


def _overlaps_inputs(gen):
    return {"b1": _boxes(gen, 12), "b2": _boxes(gen, 16), "b3": _boxes(gen, 12)}


def _overlaps_run(mm, x):
    pairwise = poisoned((12, 16), torch.float32, x["b1"].device)
    mm.ext.bbox_overlaps(x["b1"], x["b2"], pairwise, mode=0, aligned=False, offset=0)
    aligned = poisoned((12,), torch.float32, x["b1"].device)
    mm.ext.bbox_overlaps(x["b1"], x["b3"], aligned, mode=1, aligned=True, offset=0)
    return pairwise, aligned


BBOX_OVERLAPS = OpCheck(
    "bbox_overlaps", ("bbox_overlaps",), _overlaps_inputs, _overlaps_run,
    reference=lambda x: (ref_boxes.bbox_overlaps(x["b1"], x["b2"]),
                         ref_boxes.bbox_overlaps(x["b1"], x["b3"], mode="iof", aligned=True)),
)

# ---- RoI pooling ---------------------------------------------------------------------------------

ROI_OUT = (5, 4)
ROI_SCALE = 0.5


def _roi_inputs(gen):
    return {"features": torch.randn((2, 3, 12, 14), generator=gen), "rois": _rois(gen, 6, 2, 12, ROI_SCALE)}


def _roi_align_run(mm, x):
    f, rois = x["features"], x["rois"]
    out = poisoned((len(rois), f.shape[1], *ROI_OUT), f.dtype, f.device)
    empty = f.new_zeros(0)
    mm.ext.roi_align_forward(f, rois, out, empty, empty, aligned_height=ROI_OUT[0], aligned_width=ROI_OUT[1],
                             spatial_scale=ROI_SCALE, sampling_ratio=2, pool_mode=1, aligned=True)
    return (out,)


ROI_ALIGN = OpCheck(
    "roi_align", ("roi_align_forward", "roi_align_backward"), _roi_inputs, _roi_align_run,
    reference=lambda x: (ref_sampling.roi_align(x["features"], x["rois"], ROI_OUT, ROI_SCALE, 2, True),),
    grad_inputs=("features",),
    run_grad=lambda mm, x: (mm.ops.roi_align(x["features"], x["rois"], ROI_OUT, ROI_SCALE, 2, "avg", True),),
)


def _rotated_roi_inputs(gen):
    n = 6
    centre = _uniform(gen, (n, 2), 0, 24)
    size = _uniform(gen, (n, 2), 3, 14)
    angle = _uniform(gen, (n, 1), -math.pi, math.pi)
    index = torch.randint(0, 2, (n, 1), generator=gen).float()
    return {"features": torch.randn((2, 3, 12, 14), generator=gen),
            "rois": torch.cat([index, centre, size, angle], dim=1)}


ROI_ALIGN_ROTATED = OpCheck(
    "roi_align_rotated", ("roi_align_rotated_forward", "roi_align_rotated_backward"), _rotated_roi_inputs,
    run=lambda mm, x: (mm.ops.roi_align_rotated(x["features"], x["rois"], ROI_OUT, ROI_SCALE, 2,
                                                True, True),),
    reference=lambda x: (ref_sampling.roi_align_rotated(x["features"], x["rois"], ROI_OUT, ROI_SCALE, 2,
                                                        True, True),),
    grad_inputs=("features",),
)


def _roi_pool_run(mm, x):
    f, rois = x["features"], x["rois"]
    out = poisoned((len(rois), f.shape[1], *ROI_OUT), f.dtype, f.device)
    argmax = torch.zeros(out.shape, dtype=torch.int32, device=f.device)
    mm.ext.roi_pool_forward(f, rois, out, argmax, pooled_height=ROI_OUT[0], pooled_width=ROI_OUT[1],
                            spatial_scale=ROI_SCALE)
    return (out,)


ROI_POOL = OpCheck(
    "roi_pool", ("roi_pool_forward", "roi_pool_backward"), _roi_inputs, _roi_pool_run,
    reference=lambda x: (ref_sampling.roi_pool(x["features"], x["rois"], ROI_OUT, ROI_SCALE),),
    grad_inputs=("features",),
    run_grad=lambda mm, x: (mm.ops.roi_pool(x["features"], x["rois"], ROI_OUT, ROI_SCALE),),
)

# ---- losses --------------------------------------------------------------------------------------


def _focal_inputs(gen):
    return {"logits": torch.randn((24, 5), generator=gen) * 2,
            "target": torch.randint(0, 5, (24,), generator=gen),
            "weight": _uniform(gen, (5,), 0.5, 1.5)}


def _sigmoid_focal_run(mm, x):
    out = poisoned(x["logits"].shape, x["logits"].dtype, x["logits"].device)
    mm.ext.sigmoid_focal_loss_forward(x["logits"], x["target"], x["weight"], out, gamma=2.0, alpha=0.25)
    return (out,)


SIGMOID_FOCAL_LOSS = OpCheck(
    "sigmoid_focal_loss", ("sigmoid_focal_loss_forward", "sigmoid_focal_loss_backward"), _focal_inputs,
    _sigmoid_focal_run,
    reference=lambda x: (ref_losses.sigmoid_focal_loss(x["logits"], x["target"], 2.0, 0.25, x["weight"]),),
    grad_inputs=("logits",),
    run_grad=lambda mm, x: (mm.ops.sigmoid_focal_loss(x["logits"], x["target"], 2.0, 0.25, x["weight"],
                                                      "none"),),
)

SOFTMAX_FOCAL_LOSS = OpCheck(
    "softmax_focal_loss", ("softmax_focal_loss_forward", "softmax_focal_loss_backward"), _focal_inputs,
    run=lambda mm, x: (mm.ops.softmax_focal_loss(x["logits"], x["target"], 2.0, 0.25, x["weight"], "none"),),
    reference=lambda x: (ref_losses.softmax_focal_loss(x["logits"], x["target"], 2.0, 0.25, x["weight"]),),
    grad_inputs=("logits",),
)

# ---- deformable sampling -------------------------------------------------------------------------


def _deform_inputs(gen):
    n, c, h, w, out_c, k = 2, 4, 7, 8, 3, 3
    return {"input": torch.randn((n, c, h, w), generator=gen),
            "offset": torch.randn((n, 2 * 2 * k * k, h, w), generator=gen) * 1.5,
            "mask": torch.rand((n, 2 * k * k, h, w), generator=gen),
            "weight": torch.randn((out_c, c, k, k), generator=gen) * 0.3,
            "bias": torch.randn((out_c,), generator=gen)}


DEFORM_CONV2D = OpCheck(
    "deform_conv2d", ("deform_conv_forward", "deform_conv_backward_input", "deform_conv_backward_parameters"),
    _deform_inputs,
    run=lambda mm, x: (mm.ops.deform_conv2d(x["input"], x["offset"], x["weight"], 1, 1, 1, 1, 2, False, 2),),
    reference=lambda x: (ref_sampling.deform_conv2d(x["input"], x["offset"], x["weight"], 1, 1, 1, 2),),
    grad_inputs=("input", "offset", "weight"),
)

MODULATED_DEFORM_CONV2D = OpCheck(
    "modulated_deform_conv2d", ("modulated_deform_conv_forward", "modulated_deform_conv_backward"),
    _deform_inputs,
    run=lambda mm, x: (mm.ops.modulated_deform_conv2d(x["input"], x["offset"], x["mask"], x["weight"],
                                                      x["bias"], 1, 1, 1, 1, 2),),
    reference=lambda x: (ref_sampling.deform_conv2d(x["input"], x["offset"], x["weight"], 1, 1, 1, 2,
                                                    mask=x["mask"], bias=x["bias"]),),
    grad_inputs=("input", "offset", "mask", "weight", "bias"),
)

MSDA_SHAPES = ((6, 8), (3, 4))


def _msda_inputs(gen):
    batch, heads, dim, queries, points = 2, 2, 4, 5, 3
    shapes = torch.tensor(MSDA_SHAPES, dtype=torch.long)
    keys = int((shapes[:, 0] * shapes[:, 1]).sum())
    weights = torch.rand((batch, queries, heads, len(MSDA_SHAPES), points), generator=gen)
    return {"value": torch.randn((batch, keys, heads, dim), generator=gen),
            "shapes": shapes,
            "start": torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]]),
            "locations": _uniform(gen, (batch, queries, heads, len(MSDA_SHAPES), points, 2), -0.1, 1.1),
            "weights": weights / weights.sum(dim=(-1, -2), keepdim=True)}


def _msda_run(mm, x):
    function = mm.ops.multi_scale_deform_attn.MultiScaleDeformableAttnFunction
    return (function.apply(x["value"], x["shapes"], x["start"], x["locations"], x["weights"], 64),)


MULTI_SCALE_DEFORMABLE_ATTN = OpCheck(
    "multi_scale_deformable_attn", ("ms_deform_attn_forward", "ms_deform_attn_backward"), _msda_inputs,
    _msda_run,
    reference=lambda x: (ref_sampling.multi_scale_deformable_attn(x["value"], x["shapes"], x["locations"],
                                                                  x["weights"]),),
    grad_inputs=("value", "locations", "weights"),
)

# ---- rotated boxes and quadrilaterals ------------------------------------------------------------


def _rotated_pair_inputs(gen):
    return {"b1": _rotated_boxes(gen, 10), "b2": _rotated_boxes(gen, 12), "b3": _rotated_boxes(gen, 10)}


def _iou_run(function: str, mode_iof: int = 1):
    def run(mm, x):
        # The kernels index the pairwise output as one flat row-major vector, as mmcv allocates it.
        pairwise = poisoned((len(x["b1"]) * len(x["b2"]),), torch.float32, x["b1"].device)
        getattr(mm.ext, function)(x["b1"], x["b2"], pairwise, mode_flag=0, aligned=False)
        pairwise = pairwise.view(len(x["b1"]), len(x["b2"]))
        aligned = poisoned((len(x["b1"]),), torch.float32, x["b1"].device)
        getattr(mm.ext, function)(x["b1"], x["b3"], aligned, mode_flag=mode_iof, aligned=True)
        return pairwise, aligned
    return run


BOX_IOU_ROTATED = OpCheck(
    "box_iou_rotated", ("box_iou_rotated",), _rotated_pair_inputs, _iou_run("box_iou_rotated"),
    reference=lambda x: (ref_polygons.box_iou_rotated(x["b1"], x["b2"]),
                         ref_polygons.box_iou_rotated(x["b1"], x["b3"], mode="iof", aligned=True)),
)


def _nms_rotated_inputs(gen):
    return {"dets": _rotated_boxes(gen, 40), "scores": _distinct_scores(gen, 40)}


def _nms_rotated_run(mm, x):
    dets, keep = mm.ops.nms_rotated(x["dets"], x["scores"], 0.3)
    return keep, dets[:, 5]


NMS_ROTATED = OpCheck(
    "nms_rotated", ("nms_rotated",), _nms_rotated_inputs, _nms_rotated_run,
    reference=lambda x: (ref_polygons.nms_rotated(x["dets"], x["scores"], 0.3),
                         x["scores"][ref_polygons.nms_rotated(x["dets"], x["scores"], 0.3)]),
    upcast=False,
)


def _quad_pair_inputs(gen):
    return {"b1": _quads(gen, 10), "b2": _quads(gen, 12), "b3": _quads(gen, 10)}


BOX_IOU_QUADRI = OpCheck(
    "box_iou_quadri", ("box_iou_quadri",), _quad_pair_inputs, _iou_run("box_iou_quadri"),
    reference=lambda x: (ref_polygons.box_iou_quadri(x["b1"], x["b2"]),
                         ref_polygons.box_iou_quadri(x["b1"], x["b3"], mode="iof", aligned=True)),
)


def _nms_quadri_inputs(gen):
    return {"dets": _quads(gen, 40), "scores": _distinct_scores(gen, 40)}


def _nms_quadri_run(mm, x):
    dets, keep = mm.ops.nms_quadri(x["dets"], x["scores"], 0.3)
    return keep, dets[:, 8]


NMS_QUADRI = OpCheck(
    "nms_quadri", ("nms_quadri",), _nms_quadri_inputs, _nms_quadri_run,
    reference=lambda x: (ref_polygons.nms_quadri(x["dets"], x["scores"], 0.3),
                         x["scores"][ref_polygons.nms_quadri(x["dets"], x["scores"], 0.3)]),
    upcast=False,
)

# ---- point clouds --------------------------------------------------------------------------------


def _points_in_boxes_inputs(gen):
    centre = _uniform(gen, (6, 3), -4, 4)
    size = _uniform(gen, (6, 3), 1, 4)
    yaw = _uniform(gen, (6, 1), -math.pi, math.pi)
    return {"points": _uniform(gen, (200, 3), -6, 6), "boxes": torch.cat([centre, size, yaw], dim=1)}


def _points_in_boxes_run(mm, x):
    flags = poisoned((len(x["boxes"]), len(x["points"])), torch.int32, "cpu")
    mm.ext.points_in_boxes_cpu_forward(x["boxes"].contiguous(), x["points"].contiguous(), flags)
    return (flags.t(),)


POINTS_IN_BOXES = OpCheck(
    "points_in_boxes", ("points_in_boxes_cpu_forward",), _points_in_boxes_inputs, _points_in_boxes_run,
    reference=lambda x: (ref_points.points_in_boxes(x["points"], x["boxes"]),),
    devices=("cpu",), upcast=False,
)

VOXEL_SIZE = [0.5, 0.5, 0.5]
VOXEL_RANGE = [-2.0, -2.0, -1.0, 2.0, 2.0, 1.0]


def _voxel_inputs(gen):
    xyz = _uniform(gen, (300, 3), -2.4, 2.4)
    return {"points": torch.cat([xyz, torch.rand((300, 1), generator=gen)], dim=1)}


DYNAMIC_VOXELIZE = OpCheck(
    "dynamic_voxelize", ("dynamic_voxelize_forward",), _voxel_inputs,
    run=lambda mm, x: (mm.ops.voxelization(x["points"], VOXEL_SIZE, VOXEL_RANGE, -1, -1, True),),
    reference=lambda x: (ref_points.voxel_coordinates(x["points"], VOXEL_SIZE, VOXEL_RANGE),),
    upcast=False,
)

HARD_VOXELIZE = OpCheck(
    "hard_voxelize", ("hard_voxelize_forward",), _voxel_inputs,
    run=lambda mm, x: tuple(mm.ops.voxelization(x["points"], VOXEL_SIZE, VOXEL_RANGE, 3, 40, True)),
    reference=lambda x: ref_points.hard_voxelize(x["points"], VOXEL_SIZE, VOXEL_RANGE, 3, 40),
    upcast=False,
)

# ---- oriented filters ----------------------------------------------------------------------------


def _arf_inputs(gen):
    orientations, k, rotations = 4, 3, 4
    perms = [torch.randperm(orientations * k * k, generator=gen) for _ in range(rotations)]
    indices = torch.stack(perms, dim=1).reshape(orientations, k, k, rotations).to(torch.int32) + 1
    return {"weight": torch.randn((3, 2, orientations, k, k), generator=gen), "indices": indices}


ACTIVE_ROTATED_FILTER = OpCheck(
    "active_rotated_filter", ("active_rotated_filter_forward", "active_rotated_filter_backward"), _arf_inputs,
    run=lambda mm, x: (mm.ops.active_rotated_filter(x["weight"], x["indices"]),),
    reference=lambda x: (ref_filters.active_rotated_filter(x["weight"], x["indices"]),),
    grad_inputs=("weight",),
)

# ---- feature alignment and attention masks ------------------------------------------------------

PSA_MASK_SIZE = (3, 5)


def _psamask_inputs(gen):
    return {"features": torch.randn((2, PSA_MASK_SIZE[0] * PSA_MASK_SIZE[1], 6, 7), generator=gen)}


def _psamask_run(mm, x):
    collect = mm.ops.PSAMask("collect", PSA_MASK_SIZE)(x["features"])
    distribute = mm.ops.PSAMask("distribute", PSA_MASK_SIZE)(x["features"])
    return (torch.stack([collect, distribute]),)


def _psamask_reference(x):
    return (torch.stack([ref_masks.psamask(x["features"], ref_masks.COLLECT, PSA_MASK_SIZE),
                         ref_masks.psamask(x["features"], ref_masks.DISTRIBUTE, PSA_MASK_SIZE)]),)


PSAMASK = OpCheck("psamask", ("psamask_forward", "psamask_backward"), _psamask_inputs, _psamask_run,
                  _psamask_reference, grad_inputs=("features",))

FEATURE_ALIGN_SCALE = 0.5


def _rotated_feature_align_inputs(gen):
    n, height, width = 2, 8, 9
    centre = _uniform(gen, (n, height, width, 2), -3, 2 * max(height, width) / 2 / FEATURE_ALIGN_SCALE)
    size = _uniform(gen, (n, height, width, 2), 2, 10)
    angle = _uniform(gen, (n, height, width, 1), -math.pi, math.pi)
    return {"features": torch.randn((n, 3, height, width), generator=gen),
            "rbboxes": torch.cat([centre, size, angle], dim=-1)}


def _rotated_feature_align_run(mm, x):
    return tuple(mm.ops.rotated_feature_align(x["features"], x["rbboxes"], FEATURE_ALIGN_SCALE, points)
                 for points in (5, 1))


ROTATED_FEATURE_ALIGN = OpCheck(
    "rotated_feature_align", ("rotated_feature_align_forward", "rotated_feature_align_backward"),
    _rotated_feature_align_inputs, _rotated_feature_align_run,
    reference=lambda x: tuple(ref_sampling.rotated_feature_align(x["features"], x["rbboxes"],
                                                                 FEATURE_ALIGN_SCALE, points)
                              for points in (5, 1)),
    grad_inputs=("features",),
)

BEZIER_OUT = (4, 6)


def _bezier_inputs(gen):
    """Text-line bands: a top curve left to right, a bottom curve right to left (image scale)."""
    k = 5
    left = _uniform(gen, (k, 1), -2, 12)
    top = _uniform(gen, (k, 1), -2, 14)
    width = _uniform(gen, (k, 1), 6, 18)
    height = _uniform(gen, (k, 1), 3, 10)
    steps = torch.tensor([[0.0, 1 / 3, 2 / 3, 1.0]])
    top_x = left + width * steps + _uniform(gen, (k, 4), -1, 1)
    top_y = top + _uniform(gen, (k, 4), -2, 2)
    bottom_x = (left + width * steps + _uniform(gen, (k, 4), -1, 1)).flip(1)
    bottom_y = top + height + _uniform(gen, (k, 4), -2, 2)
    points = torch.stack([torch.cat([top_x, bottom_x], 1), torch.cat([top_y, bottom_y], 1)], dim=2)
    index = torch.randint(0, 2, (k, 1), generator=gen).float()
    return {"features": torch.randn((2, 3, 12, 14), generator=gen),
            "beziers": torch.cat([index, points.reshape(k, 16)], dim=1)}


BEZIER_ALIGN = OpCheck(
    "bezier_align", ("bezier_align_forward", "bezier_align_backward"), _bezier_inputs,
    run=lambda mm, x: (mm.ops.bezier_align(x["features"], x["beziers"], BEZIER_OUT, ROI_SCALE, 2, True),),
    reference=lambda x: (ref_sampling.bezier_align(x["features"], x["beziers"], BEZIER_OUT, ROI_SCALE,
                                                   2, True),),
    grad_inputs=("features",),
    # Not in mmcv-full 1.7.2's _ext (pybind.cpp), in every 2.x release mmbuild has built (2.1.0, 2.2.0).
    since="2.0.0rc1",
)

# ---- text instance grouping ----------------------------------------------------------------------

GROUP_SHAPE = (15, 16)
EMBEDDING_DIM = 4


def _strip_boxes(gen, strips: int, gap: int) -> list[tuple[int, int, int, int]]:
    """One random (top, left, bottom, right) box per horizontal strip, ``gap`` rows apart."""
    height, width = GROUP_SHAPE
    strip = (height - gap * (strips - 1)) // strips
    boxes = []
    for i in range(strips):
        box_h = int(torch.randint(3, strip + 1, (1,), generator=gen))
        box_w = int(torch.randint(5, width - 1, (1,), generator=gen))
        top = i * (strip + gap) + int(torch.randint(0, strip - box_h + 1, (1,), generator=gen))
        left = int(torch.randint(0, width - box_w + 1, (1,), generator=gen))
        boxes.append((top, left, top + box_h, left + box_w))
    return boxes


def _pixel_group_inputs(gen):
    """Three instances with well separated embeddings; kernels are their boxes shrunk by one pixel."""
    height, width = GROUP_SHAPE
    embedding = -3 + _uniform(gen, (height, width, EMBEDDING_DIM), -0.15, 0.15)
    mask = torch.rand((height, width), generator=gen) < 0.15
    kernel_label = torch.zeros((height, width), dtype=torch.int32)
    for label, (top, left, bottom, right) in enumerate(_strip_boxes(gen, 3, 0), start=1):
        centre = torch.zeros(EMBEDDING_DIM)
        centre[label - 1] = 3.0
        size = (bottom - top, right - left)
        embedding[top:bottom, left:right] = centre + _uniform(gen, (*size, EMBEDDING_DIM), -0.15, 0.15)
        mask[top:bottom, left:right] = torch.rand(size, generator=gen) < 0.9
        kernel_label[top + 1:bottom - 1, left + 1:right - 1] = label
        mask[top + 1:bottom - 1, left + 1:right - 1] = True
    inside = kernel_label > 0
    padded = torch.nn.functional.pad(inside[None, None].float(), (1, 1, 1, 1))[0, 0] > 0
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return {"score": torch.rand((height, width), generator=gen), "mask": mask, "embedding": embedding,
            "kernel_label": kernel_label, "kernel_contour": (inside & ~interior).to(torch.uint8)}


def _groups_as_tensors(groups) -> Outputs:
    """pixel_group's list of [mean score, count, x, y, ...] as (mean scores, counts, coordinates)."""
    means = torch.tensor([float(g[0]) for g in groups], dtype=torch.float32)
    counts = torch.tensor([int(g[1]) for g in groups], dtype=torch.long)
    return means, counts, _flatten_groups([g[2:] for g in groups])


PIXEL_GROUP_THRESHOLD = 0.8


def _pixel_group_run(mm, x):
    groups = mm.ops.pixel_group(x["score"], x["mask"], x["embedding"], x["kernel_label"],
                                x["kernel_contour"], 4, PIXEL_GROUP_THRESHOLD)
    return _groups_as_tensors(groups)


PIXEL_GROUP = OpCheck(
    "pixel_group", ("pixel_group",), _pixel_group_inputs, _pixel_group_run,
    reference=lambda x: _groups_as_tensors(ref_grouping.pixel_group(
        x["score"], x["mask"], x["embedding"], x["kernel_label"], x["kernel_contour"], 4,
        PIXEL_GROUP_THRESHOLD)),
    devices=("cpu",), upcast=False,
)

CONTOUR_MIN_AREA = 3


def _contour_expand_inputs(gen):
    """Nested kernels (largest first) for three instances a row apart, and one seed too small."""
    height, width = GROUP_SHAPE
    masks = torch.zeros((3, height, width), dtype=torch.uint8)
    labels = torch.zeros((height, width), dtype=torch.int32)
    boxes = _strip_boxes(gen, 3, 1)
    for label, (top, left, bottom, right) in enumerate(boxes, start=1):
        holes = torch.rand((bottom - top, right - left), generator=gen) < 0.15
        masks[0, top:bottom, left:right] = (~holes).to(torch.uint8)
        masks[1, top:bottom, left:right] = masks[0, top:bottom, left:right]
        masks[1, top, left:right] = masks[1, bottom - 1, left:right] = 0
        masks[2, top + 1:bottom - 1, left + 1:right - 1] = 1
        masks[1:, top + 1:bottom - 1, left + 1:right - 1] = 1
        masks[0, top + 1:bottom - 1, left + 1:right - 1] = 1
        labels[top + 1:bottom - 1, left + 1:right - 1] = label
    top, _, _, right = boxes[-1]
    if right + 2 < width:
        masks[:, top, right + 1:] = 1
        labels[top, right + 1] = len(boxes) + 1
    return {"masks": masks, "labels": labels}


CONTOUR_EXPAND = OpCheck(
    "contour_expand", ("contour_expand",), _contour_expand_inputs,
    run=lambda mm, x: (torch.tensor(mm.ops.contour_expand(x["masks"], x["labels"], CONTOUR_MIN_AREA, 4),
                                    dtype=torch.long),),
    reference=lambda x: (ref_grouping.contour_expand(x["masks"], x["labels"], CONTOUR_MIN_AREA),),
    devices=("cpu",), upcast=False,
)

ALL_CHECKS: tuple[OpCheck, ...] = (
    NMS, BATCHED_NMS, SOFT_NMS, NMS_MATCH, BBOX_OVERLAPS,
    ROI_ALIGN, ROI_ALIGN_ROTATED, ROI_POOL,
    SIGMOID_FOCAL_LOSS, SOFTMAX_FOCAL_LOSS,
    DEFORM_CONV2D, MODULATED_DEFORM_CONV2D, MULTI_SCALE_DEFORMABLE_ATTN,
    BOX_IOU_ROTATED, NMS_ROTATED, BOX_IOU_QUADRI, NMS_QUADRI,
    POINTS_IN_BOXES, DYNAMIC_VOXELIZE, HARD_VOXELIZE, ACTIVE_ROTATED_FILTER,
    PSAMASK, ROTATED_FEATURE_ALIGN, BEZIER_ALIGN, PIXEL_GROUP, CONTOUR_EXPAND,
)


def select_checks(names: list[str] | None) -> list[OpCheck]:
    """The checks named (all when ``names`` is empty); unknown names raise ValueError."""
    if not names:
        return list(ALL_CHECKS)
    by_name = {c.name: c for c in ALL_CHECKS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"no numeric check for {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]

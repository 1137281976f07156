"""Ops that sample a feature map at fractional positions: RoI pooling, deformable conv, attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bilinear_roi(feature: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bilinear value of ``feature`` (C, H, W) at (y, x) as RoIAlign defines it -> (C, *y.shape).

    Outside [-1, H] x [-1, W] the value is 0; inside, positions clamp to the border.
    """
    height, width = feature.shape[-2:]
    valid = (y >= -1) & (y <= height) & (x >= -1) & (x <= width)
    y, x = y.clamp(min=0), x.clamp(min=0)
    y0, x0 = y.floor().long(), x.floor().long()
    top_y, top_x = y0 >= height - 1, x0 >= width - 1
    y0 = torch.where(top_y, torch.full_like(y0, height - 1), y0)
    x0 = torch.where(top_x, torch.full_like(x0, width - 1), x0)
    y = torch.where(top_y, y0.to(y.dtype), y)
    x = torch.where(top_x, x0.to(x.dtype), x)
    y1 = torch.where(top_y, y0, y0 + 1)
    x1 = torch.where(top_x, x0, x0 + 1)
    ly, lx = y - y0, x - x0
    hy, hx = 1 - ly, 1 - lx
    value = (hy * hx * feature[:, y0, x0] + hy * lx * feature[:, y0, x1]
             + ly * hx * feature[:, y1, x0] + ly * lx * feature[:, y1, x1])
    return value * valid.to(feature.dtype)


def _bin_centres(start: float, bin_size: float, bins: int, grid: int, dtype) -> torch.Tensor:
    """Sample positions: ``grid`` evenly spaced points inside each of ``bins`` bins -> (bins, grid)."""
    b = torch.arange(bins, dtype=dtype)[:, None]
    g = torch.arange(grid, dtype=dtype)[None, :]
    return start + b * bin_size + (g + 0.5) * bin_size / grid


def roi_align(features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int],
              spatial_scale: float, sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """RoIAlign (He et al. 2017), average mode; rois are (batch, x1, y1, x2, y2)."""
    out_h, out_w = output_size
    shift = 0.5 if aligned else 0.0
    outputs = []
    for roi in rois:
        batch = int(roi[0])
        x1, y1, x2, y2 = (float(v) * spatial_scale - shift for v in roi[1:5])
        roi_w, roi_h = x2 - x1, y2 - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / out_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / out_w)
        ys = _bin_centres(y1, roi_h / out_h, out_h, grid_h, features.dtype).reshape(-1)
        xs = _bin_centres(x1, roi_w / out_w, out_w, grid_w, features.dtype).reshape(-1)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        values = bilinear_roi(features[batch], yy, xx)
        values = values.reshape(-1, out_h, grid_h, out_w, grid_w)
        outputs.append(values.sum(dim=(2, 4)) / max(grid_h * grid_w, 1))
    return torch.stack(outputs)


def roi_align_rotated(features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int],
                      spatial_scale: float, sampling_ratio: int, aligned: bool,
                      clockwise: bool) -> torch.Tensor:
    """Rotated RoIAlign; rois are (batch, x_ctr, y_ctr, w, h, angle)."""
    out_h, out_w = output_size
    shift = 0.5 if aligned else 0.0
    outputs = []
    for roi in rois:
        batch = int(roi[0])
        cx, cy = float(roi[1]) * spatial_scale - shift, float(roi[2]) * spatial_scale - shift
        roi_w, roi_h = float(roi[3]) * spatial_scale, float(roi[4]) * spatial_scale
        theta = -float(roi[5]) if clockwise else float(roi[5])
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / out_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / out_w)
        ys = _bin_centres(-roi_h / 2, roi_h / out_h, out_h, grid_h, features.dtype).reshape(-1)
        xs = _bin_centres(-roi_w / 2, roi_w / out_w, out_w, grid_w, features.dtype).reshape(-1)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        c, s = math.cos(theta), math.sin(theta)
        y = yy * c - xx * s + cy
        x = yy * s + xx * c + cx
        values = bilinear_roi(features[batch], y, x)
        values = values.reshape(-1, out_h, grid_h, out_w, grid_w)
        outputs.append(values.sum(dim=(2, 4)) / max(grid_h * grid_w, 1))
    return torch.stack(outputs)


def roi_pool(features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int],
             spatial_scale: float) -> torch.Tensor:
    """RoIPool (Girshick 2015): the max of each bin; an empty bin is 0. rois are (batch, x1, y1, x2, y2)."""
    out_h, out_w = output_size
    height, width = features.shape[-2:]
    outputs = []
    for roi in rois:
        batch = int(roi[0])
        x1, y1 = float(roi[1]) * spatial_scale, float(roi[2]) * spatial_scale
        x2, y2 = (float(roi[3]) + 1) * spatial_scale, (float(roi[4]) + 1) * spatial_scale
        bin_w, bin_h = (x2 - x1) / out_w, (y2 - y1) / out_h
        cells = []
        for ph in range(out_h):
            row = []
            h_lo = min(max(math.floor(ph * bin_h + y1), 0), height)
            h_hi = min(max(math.ceil((ph + 1) * bin_h + y1), 0), height)
            for pw in range(out_w):
                w_lo = min(max(math.floor(pw * bin_w + x1), 0), width)
                w_hi = min(max(math.ceil((pw + 1) * bin_w + x1), 0), width)
                if h_hi <= h_lo or w_hi <= w_lo:
                    row.append(features.new_zeros(features.shape[1]))
                else:
                    row.append(features[batch, :, h_lo:h_hi, w_lo:w_hi].amax(dim=(1, 2)))
            cells.append(torch.stack(row, dim=-1))
        outputs.append(torch.stack(cells, dim=-2))
    return torch.stack(outputs)


def _deformable_columns(inputs: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor | None,
                        kernel: tuple[int, int], stride: int, padding: int, dilation: int,
                        deform_groups: int) -> torch.Tensor:
    """Sample the input at each kernel tap plus its learned offset -> (N, C, K, Ho, Wo)."""
    n, channels, height, width = inputs.shape
    kh, kw = kernel
    taps = kh * kw
    out_h, out_w = offset.shape[-2:]
    offset = offset.reshape(n, deform_groups, taps, 2, out_h, out_w)
    base_y = (torch.arange(out_h, dtype=inputs.dtype) * stride - padding)[:, None]
    base_x = (torch.arange(out_w, dtype=inputs.dtype) * stride - padding)[None, :]
    per_group = channels // deform_groups
    groups = []
    for g in range(deform_groups):
        group_input = inputs[:, g * per_group:(g + 1) * per_group]
        tap_values = []
        for k in range(taps):
            i, j = divmod(k, kw)
            y = base_y + i * dilation + offset[:, g, k, 0]
            x = base_x + j * dilation + offset[:, g, k, 1]
            # grid_sample with align_corners=True maps -1..1 to pixel centres 0..size-1; zeros outside.
            grid = torch.stack((2 * x / max(width - 1, 1) - 1, 2 * y / max(height - 1, 1) - 1), dim=-1)
            sampled = F.grid_sample(group_input, grid, mode="bilinear", padding_mode="zeros",
                                    align_corners=True)
            if mask is not None:
                sampled = sampled * mask.reshape(n, deform_groups, taps, out_h, out_w)[:, g, k, None]
            tap_values.append(sampled)
        groups.append(torch.stack(tap_values, dim=2))
    return torch.cat(groups, dim=1)


def deform_conv2d(inputs: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor, stride: int = 1,
                  padding: int = 0, dilation: int = 1, deform_groups: int = 1,
                  mask: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Deformable convolution v1 (Dai et al. 2017), or v2 (modulated, Zhu et al. 2019) with ``mask``."""
    out_channels, in_channels, kh, kw = weight.shape
    columns = _deformable_columns(inputs, offset, mask, (kh, kw), stride, padding, dilation, deform_groups)
    out = torch.einsum("nckhw,ock->nohw", columns, weight.reshape(out_channels, in_channels, kh * kw))
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out


def multi_scale_deformable_attn(value: torch.Tensor, spatial_shapes: torch.Tensor,
                                sampling_locations: torch.Tensor,
                                attention_weights: torch.Tensor) -> torch.Tensor:
    """Multi-scale deformable attention (Zhu et al. 2021, Deformable DETR).

    value (B, keys, heads, D); sampling_locations (B, Q, heads, levels, points, 2) as (x, y) in
    [0, 1]; attention_weights (B, Q, heads, levels, points) -> (B, Q, heads * D).
    """
    batch, _, heads, dim = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    sizes = [int(h) * int(w) for h, w in spatial_shapes.tolist()]
    per_level = value.split(sizes, dim=1)
    sampled = []
    for level, (h, w) in enumerate(spatial_shapes.tolist()):
        v = per_level[level].permute(0, 2, 3, 1).reshape(batch * heads, dim, h, w)
        locations = sampling_locations[:, :, :, level].transpose(1, 2)
        grid = 2 * locations.reshape(batch * heads, queries, points, 2) - 1
        # align_corners=False: pixel x = loc * W - 0.5, zeros outside, as the kernel samples.
        sampled.append(F.grid_sample(v, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
    stacked = torch.stack(sampled, dim=-2)  # (B*heads, D, Q, levels, points)
    weights = attention_weights.transpose(1, 2).reshape(batch * heads, 1, queries, levels, points)
    out = (stacked * weights).sum(dim=(-1, -2))  # (B*heads, D, Q)
    return out.reshape(batch, heads * dim, queries).transpose(1, 2)


def rotated_feature_align(features: torch.Tensor, best_rbboxes: torch.Tensor, spatial_scale: float,
                          points: int) -> torch.Tensor:
    """Feature refinement of R3Det (Yang et al. 2019): each pixel adds the features sampled at its
    refined rotated box's centre (points=1) or centre and four corners (points=5).

    features (N, C, H, W); best_rbboxes (N, H, W, 5) as mmcv stores them: (y, x, w, h, angle).
    """
    outputs = []
    for n in range(features.shape[0]):
        box = best_rbboxes[n]
        cy, cx = box[..., 0] * spatial_scale, box[..., 1] * spatial_scale
        ys, xs = [cy], [cx]
        if points > 1:
            half_w, half_h = box[..., 2] * spatial_scale / 2, box[..., 3] * spatial_scale / 2
            cos, sin = torch.cos(box[..., 4]), torch.sin(box[..., 4])
            wx, wy, hx, hy = cos * half_w, sin * half_w, -sin * half_h, cos * half_h
            for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
                xs.append(cx + sx * wx + sy * hx)
                ys.append(cy + sx * wy + sy * hy)
        refined = features[n]
        for y, x in zip(ys, xs):
            refined = refined + bilinear_roi(features[n], y, x)
        outputs.append(refined)
    return torch.stack(outputs)


def _cubic_bezier(p0: float, p1: float, p2: float, p3: float, u: torch.Tensor) -> torch.Tensor:
    return (1 - u) ** 3 * p0 + 3 * u * (1 - u) ** 2 * p1 + 3 * u ** 2 * (1 - u) * p2 + u ** 3 * p3


def bezier_align(features: torch.Tensor, beziers: torch.Tensor, output_size: tuple[int, int],
                 spatial_scale: float, sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """BezierAlign (Liu et al. 2020, ABCNet): RoIAlign along the band between two cubic curves.

    beziers (K, 17): batch index, the top curve's four (x, y) control points left to right, then
    the bottom curve's four right to left. Output column ``pw`` samples the curves at
    u = pw / out_w, row ``ph`` interpolates top to bottom at v = ph / out_h; each cell averages a
    grid of bilinear samples of one bin's size around that point.
    """
    out_h, out_w = output_size
    shift = 0.5 if aligned else 0.0
    outputs = []
    for bezier in beziers:
        batch = int(bezier[0])
        p = [float(v) * spatial_scale for v in bezier[1:]]
        top_x, top_y = p[0:8:2], p[1:8:2]
        bottom_x, bottom_y = p[14:6:-2], p[15:7:-2]
        roi_w = max(abs(top_x[0] - top_x[3]), abs(bottom_x[0] - bottom_x[3]))
        roi_h = max(abs(top_y[0] - top_y[3]), abs(bottom_y[0] - bottom_y[3]))
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / out_h, roi_w / out_w
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / out_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / out_w)
        u = torch.arange(out_w, dtype=features.dtype) / out_w
        v = (torch.arange(out_h, dtype=features.dtype) / out_h)[:, None]
        centre_x = _cubic_bezier(*bottom_x, u) * v + _cubic_bezier(*top_x, u) * (1 - v) - shift
        centre_y = _cubic_bezier(*bottom_y, u) * v + _cubic_bezier(*top_y, u) * (1 - v) - shift
        step_y = (torch.arange(grid_h, dtype=features.dtype) + 0.5) * bin_h / grid_h - bin_h / 2
        step_x = (torch.arange(grid_w, dtype=features.dtype) + 0.5) * bin_w / grid_w - bin_w / 2
        y = centre_y[:, :, None, None] + step_y[:, None]  # (out_h, out_w, grid_h, 1)
        x = centre_x[:, :, None, None] + step_x[None, :]  # (out_h, out_w, 1, grid_w)
        y, x = torch.broadcast_tensors(y, x)
        values = bilinear_roi(features[batch], y, x)  # (C, out_h, out_w, grid_h, grid_w)
        outputs.append(values.sum(dim=(-1, -2)) / max(grid_h * grid_w, 1))
    return torch.stack(outputs)

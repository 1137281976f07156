"""The references against hand-computed cases and against each other."""

import math

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from mmbuild.verify.references import boxes, filters, losses, polygons, sampling  # noqa: E402


def test_bbox_overlaps_hand_computed():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[5.0, 5.0, 15.0, 15.0], [20.0, 20.0, 30.0, 30.0]])
    assert boxes.bbox_overlaps(a, b).tolist() == [[pytest.approx(25 / 175), 0.0]]
    assert boxes.bbox_overlaps(a, b[:1], mode="iof", aligned=True).tolist() == [pytest.approx(0.25)]


def test_nms_suppresses_overlap_above_threshold_only():
    b = torch.tensor([[0.0, 0, 10, 10], [1.0, 0, 11, 10], [20.0, 20, 30, 30]])
    s = torch.tensor([0.9, 0.8, 0.7])
    assert boxes.nms(b, s, 0.5).tolist() == [0, 2]
    assert boxes.nms(b, s, 0.95).tolist() == [0, 1, 2]


def test_soft_nms_linear_decays_the_overlapping_score():
    b = torch.tensor([[0.0, 0, 10, 10], [1.0, 0, 11, 10]])
    keep, scores = boxes.soft_nms(b, torch.tensor([0.9, 0.8]), 0.3, 0.5, 0.0, "linear")
    iou = 90 / 110
    assert keep.tolist() == [0, 1]
    assert scores[1].item() == pytest.approx(0.8 * (1 - iou))


def test_rotated_iou_at_zero_angle_is_the_axis_aligned_iou():
    r1 = torch.tensor([[5.0, 5.0, 10.0, 10.0, 0.0]])
    r2 = torch.tensor([[10.0, 10.0, 10.0, 10.0, 0.0]])
    assert polygons.box_iou_rotated(r1, r2).item() == pytest.approx(25 / 175)


def test_rotated_iou_of_a_square_turned_a_quarter_is_one():
    r = torch.tensor([[5.0, 5.0, 4.0, 4.0, 0.0]])
    assert polygons.box_iou_rotated(r, r + torch.tensor([0, 0, 0, 0, math.pi / 2])).item() == pytest.approx(1)


def test_quadri_iou_agrees_with_rotated_iou():
    r = torch.tensor([[5.0, 5.0, 8.0, 3.0, 0.4], [6.0, 4.0, 5.0, 6.0, -0.9]])
    quads = torch.tensor([[c for p in polygons.rotated_box_corners(b) for c in p] for b in r.tolist()])
    assert torch.allclose(polygons.box_iou_quadri(quads, quads), polygons.box_iou_rotated(r, r))


def test_deform_conv_with_zero_offset_is_a_convolution():
    g = torch.Generator().manual_seed(0)
    x = torch.randn((1, 4, 6, 7), generator=g, dtype=torch.float64)
    w = torch.randn((3, 4, 3, 3), generator=g, dtype=torch.float64)
    offset = torch.zeros((1, 2 * 2 * 9, 6, 7), dtype=torch.float64)
    assert torch.allclose(sampling.deform_conv2d(x, offset, w, 1, 1, 1, 2), F.conv2d(x, w, padding=1))


def test_modulated_deform_conv_with_unit_mask_is_deform_conv():
    g = torch.Generator().manual_seed(1)
    x = torch.randn((1, 2, 5, 5), generator=g, dtype=torch.float64)
    w = torch.randn((2, 2, 3, 3), generator=g, dtype=torch.float64)
    offset = torch.randn((1, 18, 5, 5), generator=g, dtype=torch.float64)
    plain = sampling.deform_conv2d(x, offset, w, 1, 1, 1, 1)
    ones = torch.ones((1, 9, 5, 5), dtype=torch.float64)
    masked = sampling.deform_conv2d(x, offset, w, 1, 1, 1, 1, mask=ones)
    assert torch.allclose(plain, masked)


def test_roi_align_of_a_constant_map_is_that_constant():
    features = torch.full((1, 2, 8, 8), 3.0, dtype=torch.float64)
    rois = torch.tensor([[0, 1.0, 1.0, 6.0, 5.0]], dtype=torch.float64)
    expected = torch.full((1, 2, 2, 2), 3.0, dtype=torch.float64)
    assert torch.allclose(sampling.roi_align(features, rois, (2, 2), 1.0, 2, True), expected)


def test_roi_align_rotated_at_zero_angle_is_roi_align():
    g = torch.Generator().manual_seed(2)
    features = torch.randn((1, 2, 9, 9), generator=g, dtype=torch.float64)
    rois = torch.tensor([[0, 1.0, 2.0, 7.0, 6.0]], dtype=torch.float64)
    rotated = torch.tensor([[0, 4.0, 4.0, 6.0, 4.0, 0.0]], dtype=torch.float64)
    expected = sampling.roi_align(features, rois, (3, 3), 1.0, 2, True)
    assert torch.allclose(sampling.roi_align_rotated(features, rotated, (3, 3), 1.0, 2, True, True), expected)


def test_roi_pool_takes_the_bin_maximum():
    features = torch.arange(16.0).reshape(1, 1, 4, 4)
    rois = torch.tensor([[0, 0.0, 0.0, 3.0, 3.0]])
    assert sampling.roi_pool(features, rois, (2, 2), 1.0).flatten().tolist() == [5.0, 7.0, 13.0, 15.0]


def test_msda_with_one_point_at_a_pixel_centre_returns_that_pixel():
    value = torch.arange(12.0, dtype=torch.float64).reshape(1, 12, 1, 1)  # one level 3x4, one head, dim 1
    shapes = torch.tensor([[3, 4]])
    loc = torch.tensor([[[[[[(2 + 0.5) / 4, (1 + 0.5) / 3]]]]]], dtype=torch.float64)  # x=2, y=1
    weights = torch.ones((1, 1, 1, 1, 1), dtype=torch.float64)
    out = sampling.multi_scale_deformable_attn(value, shapes, loc, weights)
    assert out.item() == pytest.approx(6.0)


def test_sigmoid_focal_loss_without_focusing_is_weighted_bce():
    logits = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    target = torch.tensor([1])
    loss = losses.sigmoid_focal_loss(logits, target, gamma=0.0, alpha=0.5)
    bce = F.binary_cross_entropy_with_logits(logits, torch.tensor([[0.0, 1.0]], dtype=torch.float64),
                                             reduction="none")
    assert torch.allclose(loss, 0.5 * bce)


def test_softmax_focal_loss_without_focusing_is_scaled_cross_entropy():
    logits = torch.tensor([[0.3, -1.2, 2.0]], dtype=torch.float64)
    target = torch.tensor([2])
    expected = 0.25 * F.cross_entropy(logits, target, reduction="none")
    assert torch.allclose(losses.softmax_focal_loss(logits, target, 0.0, 0.25), expected)


def test_active_rotated_filter_with_identity_indices_repeats_the_weight():
    weight = torch.randn((2, 1, 4, 1, 1))
    indices = torch.arange(1, 5, dtype=torch.int32).reshape(4, 1, 1, 1).repeat(1, 1, 1, 2)
    out = filters.active_rotated_filter(weight, indices)
    assert out.shape == (4, 4, 1, 1)
    assert torch.equal(out.reshape(2, 2, 4), weight.reshape(2, 1, 4).expand(2, 2, 4))


def test_psamask_collect_and_distribute_place_each_pair_by_displacement():
    from mmbuild.verify.references import masks

    inputs = torch.arange(1.0, 1 + 9 * 2 * 2).reshape(1, 9, 2, 2)  # 3x3 mask on a 2x2 map
    collect = masks.psamask(inputs, masks.COLLECT, (3, 3))
    distribute = masks.psamask(inputs, masks.DISTRIBUTE, (3, 3))
    # Pixel (0, 0) and its right neighbour (0, 1): displacement (0, +1) is mask channel 1*3+2 = 5.
    assert collect[0, 1, 0, 0] == inputs[0, 5, 0, 0]
    assert distribute[0, 0, 0, 1] == inputs[0, 5, 0, 0]
    # Each pixel pairs with every pixel of a 2x2 map once; the centre channel pairs it with itself.
    assert (collect != 0).sum() == 16 and (distribute != 0).sum() == 16
    assert torch.equal(collect[0, :, 0, 0], inputs[0, [4, 5, 7, 8], 0, 0])


def test_rotated_feature_align_at_pixel_centres_adds_the_pixel_there():
    features = torch.randn((1, 2, 3, 4), dtype=torch.float64)
    boxes = torch.zeros((1, 3, 4, 5), dtype=torch.float64)
    boxes[..., 0], boxes[..., 1] = 2.0, 1.0  # every pixel points at (y=2, x=1), at scale 1
    out = sampling.rotated_feature_align(features, boxes, 1.0, 1)
    assert torch.allclose(out, features + features[:, :, 2:3, 1:2])


def test_rotated_feature_align_five_points_add_the_box_corners():
    features = torch.randn((1, 1, 6, 6), dtype=torch.float64)
    boxes = torch.tensor([2.0, 3.0, 2.0, 2.0, 0.0], dtype=torch.float64).expand(1, 6, 6, 5)
    out = sampling.rotated_feature_align(features, boxes, 1.0, 5)
    corners = sum(features[0, 0, y, x] for y, x in ((2, 3), (3, 4), (3, 2), (1, 2), (1, 4)))
    assert torch.allclose(out, features + corners)


def test_bezier_align_of_straight_edges_is_roi_align_shifted_half_a_bin():
    features = torch.randn((1, 2, 10, 12), dtype=torch.float64)
    x1, y1, x2, y2 = 1.0, 2.0, 9.0, 8.0
    top = [(x1 + (x2 - x1) * t, y1) for t in (0, 1 / 3, 2 / 3, 1)]
    bottom = [(x2 - (x2 - x1) * t, y2) for t in (0, 1 / 3, 2 / 3, 1)]
    bezier = torch.tensor([[0.0, *[c for p in top + bottom for c in p]]], dtype=torch.float64)
    bin_w, bin_h = (x2 - x1) / 4, (y2 - y1) / 3
    roi = torch.tensor([[0.0, x1 - bin_w / 2, y1 - bin_h / 2, x2 - bin_w / 2, y2 - bin_h / 2]],
                       dtype=torch.float64)
    expected = sampling.roi_align(features, roi, (3, 4), 1.0, 2, True)
    assert torch.allclose(sampling.bezier_align(features, bezier, (3, 4), 1.0, 2, True), expected)


def test_contour_expand_grows_through_the_kernels_and_drops_small_seeds():
    from mmbuild.verify.references import grouping

    masks = torch.zeros((2, 3, 7), dtype=torch.uint8)
    masks[0, :, :3] = 1
    masks[0, 1, 5:] = 1
    labels = torch.zeros((3, 7), dtype=torch.int32)
    labels[1, 1] = labels[1, 0] = 1
    labels[1, 6] = 2  # one pixel: below the minimum area of 2
    expected = torch.zeros((3, 7), dtype=torch.long)
    expected[:, :3] = 1
    assert torch.equal(grouping.contour_expand(masks, labels, 2), expected)


def test_pixel_group_grows_only_into_pixels_with_a_close_embedding():
    from mmbuild.verify.references import grouping

    embedding = torch.zeros((1, 4, 1))
    embedding[0, 3, 0] = 5.0  # the last pixel is far from the kernel's mean embedding
    score = torch.tensor([[0.2, 0.4, 0.6, 0.8]])
    mask = torch.ones((1, 4), dtype=torch.bool)
    labels = torch.tensor([[1, 0, 0, 0]], dtype=torch.int32)
    groups = grouping.pixel_group(score, mask, embedding, labels, labels.to(torch.uint8), 2, 1.0)
    assert groups[0] == [0.0, 0.0]
    assert groups[1][:2] == [pytest.approx(0.4), 3.0]
    assert groups[1][2:] == [0.0, 0.0, 1.0, 0.0, 2.0, 0.0]

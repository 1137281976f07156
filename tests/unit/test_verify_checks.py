"""Each numeric check passes a right kernel and fails a wrong, missing, silent or NaN one."""

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from mmbuild.verify import opchecks  # noqa: E402
from mmbuild.verify.compare import compare  # noqa: E402
from mmbuild.verify.numeric import run_backward, run_forward  # noqa: E402
from mmbuild.verify.references import boxes, sampling  # noqa: E402


def _ext(**functions):
    return SimpleNamespace(ext=SimpleNamespace(**functions), ops=None)


def _right_nms(b, s, iou_threshold, offset):
    return boxes.nms(b, s, iou_threshold, offset)


def test_right_kernel_passes_and_reports_its_seed():
    result = run_forward(opchecks.NMS, _ext(nms=_right_nms), "cpu", seed=123)
    assert (result.status, result.seed, result.kind) == ("pass", 123, "numeric")


def test_a_reference_that_disagrees_fails():
    wrong = opchecks.OpCheck(**{**opchecks.NMS.__dict__, "reference": lambda x: (torch.tensor([0, 1]),)})
    result = run_forward(wrong, _ext(nms=_right_nms), "cpu", seed=1)
    assert result.status == "fail" and "shape" in result.message


def test_wrong_kernel_fails():
    result = run_forward(opchecks.NMS, _ext(nms=lambda b, s, iou_threshold, offset: _right_nms(
        b, s, iou_threshold, offset).flip(0)), "cpu", seed=5)
    assert result.status == "fail" and "differ" in result.message


def test_ext_missing_a_function_fails_with_ops_missing():
    result = run_forward(opchecks.BBOX_OVERLAPS, _ext(nms=_right_nms), "cpu", seed=1)
    assert (result.status, result.id) == ("fail", "mmcv-ops-missing")
    assert "bbox_overlaps" in result.message


def test_an_op_newer_than_the_installed_mmcv_is_skipped_not_failed():
    """mmcv-full 1.7.2 has no bezier_align; a 2.x whose _ext lacks it is broken."""
    old = SimpleNamespace(ext=SimpleNamespace(nms=_right_nms), ops=None, version="1.7.2")
    result = run_forward(opchecks.BEZIER_ALIGN, old, "cpu", seed=1)
    assert result.status == "skip" and "mmcv 1.7.2 has no bezier_align" in result.message
    new = SimpleNamespace(ext=SimpleNamespace(nms=_right_nms), ops=None, version="2.2.0")
    result = run_forward(opchecks.BEZIER_ALIGN, new, "cpu", seed=1)
    assert (result.status, result.id) == ("fail", "mmcv-ops-missing")


def test_unwritten_output_is_caught_by_the_poison():
    def half_written(b1, b2, ious, mode, aligned, offset):
        full = boxes.bbox_overlaps(b1, b2, ("iou", "iof")[mode], aligned, offset)
        ious.view(-1)[: ious.numel() // 2] = full.view(-1)[: ious.numel() // 2]
    result = run_forward(opchecks.BBOX_OVERLAPS, _ext(bbox_overlaps=half_written), "cpu", seed=2)
    assert result.status == "fail" and "never written" in result.message


def test_no_cpu_kernel_is_a_skip_naming_the_device():
    def roi_pool_forward(*args, **kwargs):
        raise RuntimeError("roi_pool_forward_impl: implementation for device cpu not found.\n")
    result = run_forward(opchecks.ROI_POOL, _ext(roi_pool_forward=roi_pool_forward, roi_pool_backward=None),
                         "cpu", seed=3)
    assert result.status == "skip" and "no CPU kernel" in result.message


def test_launch_error_is_mapped_to_a_catalogue_id():
    def nms(*args, **kwargs):
        raise RuntimeError("CUDA error: no kernel image is available for execution on the device")
    result = run_forward(opchecks.NMS, _ext(nms=nms), "cpu", seed=3)
    assert (result.status, result.id) == ("fail", "no-kernel-image")


def test_backward_compares_gradients_with_the_reference():
    def roi_align(features, rois, out_size, scale, ratio, mode, aligned):
        return sampling.roi_align(features, rois, out_size, scale, ratio, aligned)
    right = SimpleNamespace(ext=SimpleNamespace(roi_align_forward=1, roi_align_backward=1),
                            ops=SimpleNamespace(roi_align=roi_align))
    assert run_backward(opchecks.ROI_ALIGN, right, "cpu", seed=4).status == "pass"
    doubled = SimpleNamespace(ext=right.ext, ops=SimpleNamespace(
        roi_align=lambda *a: roi_align(*a) * 2))
    result = run_backward(opchecks.ROI_ALIGN, doubled, "cpu", seed=4)
    assert result.status == "fail" and result.name == "roi_align:backward"


def test_nan_never_passes_even_against_nan():
    nan = torch.tensor([float("nan")])
    assert not compare("x", nan, nan).ok


def test_tolerance_depends_on_dtype():
    expected = torch.tensor([1.0], dtype=torch.float64)
    assert compare("x", torch.tensor([1.00005]), expected).ok
    assert not compare("x", torch.tensor([1.00005], dtype=torch.float64), expected).ok


def test_at_least_twenty_ops_are_checked():
    assert len(opchecks.ALL_CHECKS) >= 20


def test_an_op_left_out_of_a_subset_build_is_a_skip():
    def softnms(*args, **kwargs):
        raise RuntimeError("mmcv op 'softnms' was not built by this mmbuild subset (built: nms); "
                           "rebuild with: mmbuild install --ops nms,softnms")
    result = run_forward(opchecks.SOFT_NMS, _ext(softnms=softnms), "cpu", seed=3)
    assert result.status == "skip" and "subset" in result.message


def _psamask_ops(swap_modes: bool):
    from mmbuild.verify.references import masks

    class PSAMask:
        def __init__(self, psa_type, mask_size):
            mode = masks.COLLECT if psa_type == "collect" else masks.DISTRIBUTE
            self.mode = (1 - mode) if swap_modes else mode
            self.mask_size = mask_size

        def __call__(self, features):
            return masks.psamask(features, self.mode, self.mask_size)

    return SimpleNamespace(ext=SimpleNamespace(psamask_forward=1, psamask_backward=1),
                           ops=SimpleNamespace(PSAMask=PSAMask))


def test_psamask_check_tells_collect_from_distribute():
    assert run_forward(opchecks.PSAMASK, _psamask_ops(False), "cpu", seed=8).status == "pass"
    assert run_backward(opchecks.PSAMASK, _psamask_ops(False), "cpu", seed=8).status == "pass"
    assert run_forward(opchecks.PSAMASK, _psamask_ops(True), "cpu", seed=8).status == "fail"


def test_contour_expand_check_fails_a_kernel_that_keeps_small_seeds():
    from mmbuild.verify.references import grouping

    def right(masks, labels, min_area, kernel_num):
        return grouping.contour_expand(masks, labels, min_area).tolist()

    def keeps_small(masks, labels, min_area, kernel_num):
        return grouping.contour_expand(masks, labels, 0).tolist()

    fails = 0
    for seed in range(6):
        mm = SimpleNamespace(ext=SimpleNamespace(contour_expand=1), ops=SimpleNamespace(contour_expand=right))
        assert run_forward(opchecks.CONTOUR_EXPAND, mm, "cpu", seed=seed).status == "pass"
        mm.ops.contour_expand = keeps_small
        fails += run_forward(opchecks.CONTOUR_EXPAND, mm, "cpu", seed=seed).status == "fail"
    assert fails >= 1

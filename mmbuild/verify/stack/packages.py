"""The downstream packages the stack checks know, and the one model each check builds.

Each model comes from the package's own bundled configs (``<package>/.mim/configs``), the
folder ``mim`` and the packages' wheels ship; ``ops`` are the mmcv ops the model runs through
(what an ``--ops`` subset build must hold for the check to pass). A package whose older
releases predate mmengine (mmdet 2.x, on mmcv-full 1.x) has a second model for those releases,
run through ``mmcv.runner`` instead of mmengine (verify/stack/mmcv_runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version


@dataclass(frozen=True)
class StackModel:
    """One downstream package's check model: where its config lives and what it exercises."""

    distribution: str          # the name pip knows: mmsegmentation
    module: str                # the import name: mmseg
    scope: str                 # its registry scope (mmengine's default_scope)
    config: str                # relative to <module>/.mim/configs
    label: str                 # a short name for the check rows: faster-rcnn
    task: str                  # detection | segmentation | classification | recognition
    ops: tuple[str, ...] = ()  # mmcv ops the model calls
    releases: str = ""         # the package versions this model is for (PEP 440 spec; "" = any other)
    framework: str = "mmengine"  # "mmengine" (Runner, registries) | "mmcv-runner" (mmcv-full 1.x era)

    def serves(self, version: str | None) -> bool:
        """Whether this model is the one for ``version`` of its package (None: the newest releases)."""
        if not self.releases:
            return True
        try:
            return version is not None and SpecifierSet(self.releases).contains(
                Version(version).public, prereleases=True)
        except InvalidVersion:
            return False


STACK_MODELS: tuple[StackModel, ...] = (
    StackModel("mmdet", "mmdet", "mmdet", "faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py",
               "faster-rcnn", "detection", ("nms", "roi_align"), releases="<3", framework="mmcv-runner"),
    StackModel("mmdet", "mmdet", "mmdet", "faster_rcnn/faster-rcnn_r18_fpn_8xb8-amp-lsj-200e_coco.py",
               "faster-rcnn", "detection", ("nms", "roi_align")),
    StackModel("mmsegmentation", "mmseg", "mmseg", "psanet/psanet_r50-d8_4xb2-40k_cityscapes-512x1024.py",
               "psanet", "segmentation", ("psamask",)),
    StackModel("mmpretrain", "mmpretrain", "mmpretrain", "resnet/resnet18_8xb32_in1k.py",
               "resnet18", "classification"),
    StackModel("mmaction2", "mmaction", "mmaction",
               "recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py",
               "tsn", "recognition"),
)
# The onedl-* forks install the same import packages and configs.
FORKS = {"onedl-mmdetection": "mmdet", "onedl-mmsegmentation": "mmsegmentation",
         "onedl-mmpretrain": "mmpretrain"}


def model_for(distribution: str, version: str | None = None) -> StackModel | None:
    """The check model of a distribution at ``version`` (None: its newest releases); a fork is
    checked as the package it forks."""
    name = FORKS.get(distribution, distribution)
    mine = [m for m in STACK_MODELS if m.distribution == name]
    return next((m for m in mine if m.releases and m.serves(version)),
                next((m for m in mine if not m.releases), None))


def stack_ops(distributions: list[str] | None = None) -> list[str]:
    """The mmcv ops the stack checks of these distributions (default: all) run through, sorted."""
    models = STACK_MODELS if distributions is None else [m for m in map(model_for, distributions) if m]
    return sorted({op for model in models for op in model.ops})

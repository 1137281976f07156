"""The downstream packages the stack checks know, and the one model each check builds.

Each model comes from the package's own bundled configs (``<package>/.mim/configs``), the
folder ``mim`` and the packages' wheels ship; ``ops`` are the mmcv ops the model runs through
(what an ``--ops`` subset build must hold for the check to pass).
"""

from __future__ import annotations

from dataclasses import dataclass


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


STACK_MODELS: tuple[StackModel, ...] = (
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


def model_for(distribution: str) -> StackModel | None:
    """The check model of a distribution (a fork is checked as the package it forks)."""
    name = FORKS.get(distribution, distribution)
    return next((m for m in STACK_MODELS if m.distribution == name), None)


def stack_ops(distributions: list[str] | None = None) -> list[str]:
    """The mmcv ops the stack checks of these distributions (default: all) run through, sorted."""
    models = STACK_MODELS if distributions is None else [m for m in map(model_for, distributions) if m]
    return sorted({op for model in models for op in model.ops})

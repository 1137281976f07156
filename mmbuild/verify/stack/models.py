"""The check models, built from each package's bundled config with random weights, and their inputs.

Runs inside the target Python (imports torch and the package). A config is edited only where it
would reach outside this machine or this size: pretrained weights and ``init_cfg`` checkpoints are
dropped (random weights, no download), SyncBN becomes BN (one process), and the data
preprocessor's fixed size becomes the small image used here (a fixed-size batch pad, e.g. the
1024 px of mmdet's large-scale-jitter configs, is dropped).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from mmbuild.verify.stack.packages import StackModel

IMAGE_SIZE = 64       # pixels per side: small enough for seconds on one CPU core
DETECTION_SIZE = 128  # two-stage detectors need a few anchors per FPN level
SEGMENTS = 3          # frames per clip for the recognizer (TSN's 1x1x3)


def config_path(model: StackModel) -> Path:
    package = importlib.import_module(model.module)
    return Path(package.__file__).parent / ".mim" / "configs" / model.config


def _without_downloads(node: Any) -> Any:
    """The config tree with pretrained checkpoints removed and SyncBN made BN."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if (key == "pretrained" and isinstance(value, str)) or (
                    key == "init_cfg" and isinstance(value, dict) and value.get("type") == "Pretrained"):
                out[key] = None
            else:
                out[key] = _without_downloads(value)
        if out.get("type") == "SyncBN":
            out["type"] = "BN"
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(_without_downloads(v) for v in node)
    return node


def model_config(model: StackModel):
    """The model section of the package's config (a ConfigDict), edited as the module docstring says."""
    from mmengine.config import Config, ConfigDict

    cfg = Config.fromfile(str(config_path(model)))
    edited = _without_downloads(cfg.to_dict()["model"])
    preprocessor = edited.get("data_preprocessor") or {}
    if "size" in preprocessor:
        preprocessor["size"] = (IMAGE_SIZE, IMAGE_SIZE)
    if preprocessor.get("batch_augments"):
        preprocessor["batch_augments"] = [a for a in preprocessor["batch_augments"]
                                          if a.get("type") != "BatchFixedSizePad"] or None
    return ConfigDict(edited)


def build_model(model: StackModel, device: str):
    """The package's model from its config, random weights, on ``device``, in its registry scope."""
    from mmengine.registry import DefaultScope, init_default_scope

    importlib.import_module(f"{model.module}.utils").register_all_modules(init_default_scope=False)
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != model.scope:
        init_default_scope(model.scope)
    registry = importlib.import_module(f"{model.module}.registry").MODELS
    built = registry.build(model_config(model))
    built.init_weights()
    return built.to(device)


def batch(model: StackModel, seed: int, train: bool) -> dict[str, Any]:
    """One batch (two samples) in the form the package's data preprocessor takes."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    make = {"detection": _detection_sample, "segmentation": _segmentation_sample,
            "classification": _classification_sample, "recognition": _recognition_sample}[model.task]
    samples = [make(gen, train) for _ in range(2)]
    return {"inputs": [s[0] for s in samples], "data_samples": [s[1] for s in samples]}


def _image(gen, size: int, frames: int | None = None):
    import torch

    shape = (3, size, size) if frames is None else (frames, 3, size, size)
    return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)


def _meta(size: int) -> dict[str, Any]:
    return {"img_shape": (size, size), "ori_shape": (size, size), "pad_shape": (size, size),
            "scale_factor": (1.0, 1.0), "img_id": 0}


def _detection_sample(gen, train: bool):
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    sample = DetDataSample(metainfo=_meta(DETECTION_SIZE))
    if train:
        corner = torch.randint(0, DETECTION_SIZE // 2, (3, 2), generator=gen).float()
        extent = torch.randint(16, DETECTION_SIZE // 2, (3, 2), generator=gen).float()
        sample.gt_instances = InstanceData(bboxes=torch.cat([corner, corner + extent], dim=1),
                                           labels=torch.randint(0, 80, (3,), generator=gen))
    return _image(gen, DETECTION_SIZE), sample


def _segmentation_sample(gen, train: bool):
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    sample = SegDataSample(metainfo=_meta(IMAGE_SIZE))
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, IMAGE_SIZE, IMAGE_SIZE), generator=gen))
    return _image(gen, IMAGE_SIZE), sample


def _classification_sample(gen, train: bool):
    import torch
    from mmpretrain.structures import DataSample

    label = int(torch.randint(0, 1000, (1,), generator=gen))
    sample = DataSample(metainfo=_meta(IMAGE_SIZE)).set_gt_label(label)
    return _image(gen, IMAGE_SIZE), sample


def _recognition_sample(gen, train: bool):
    import torch
    from mmaction.structures import ActionDataSample

    sample = ActionDataSample(metainfo=_meta(IMAGE_SIZE)).set_gt_label(
        int(torch.randint(0, 400, (1,), generator=gen)))
    return _image(gen, IMAGE_SIZE, frames=SEGMENTS), sample


def describe_predictions(model: StackModel, outputs: list) -> str:
    """What the inference produced, in a few words (boxes, a mask, a label)."""
    first = outputs[0]
    if model.task == "detection":
        return f"{len(first.pred_instances)} boxes predicted for the first image"
    if model.task == "segmentation":
        return f"a {tuple(first.pred_sem_seg.data.shape[-2:])} mask predicted"
    if model.task == "classification":
        return f"label {int(first.pred_label)} predicted"
    return f"label {int(first.pred_label)} predicted"

"""The check model of a release from before mmengine (mmdet 2.x on mmcv-full 1.x), and its steps.

Runs inside the target Python. The same checks as the mmengine models (verify/stack/models.py,
runner_check.py), through that era's interfaces: the config is read with ``mmcv.Config`` and
built with the package's ``build_detector``; inference is ``forward_test`` on a batch of images
with their ``img_metas``; a training step is the model's ``train_step`` (its parsed losses), then
backward and one SGD step (what ``mmcv.runner``'s OptimizerHook does); the checkpoint is written by
``mmcv.runner.save_checkpoint`` (weights, optimizer, meta) and read back by ``load_checkpoint``
into a model built afresh from the config, whose weights must then equal the saved ones.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

from mmbuild.verify.stack.models import DETECTION_SIZE, _without_downloads, config_path
from mmbuild.verify.stack.packages import StackModel

CLASSES = 80   # COCO, the dataset of the bundled configs


def build_model(model: StackModel, device: str):
    """The package's detector from its config, random weights (no download), on ``device``."""
    from mmcv import Config, ConfigDict

    cfg = Config.fromfile(str(config_path(model)))
    edited = ConfigDict(_without_downloads(cfg.model.to_dict()))
    build = importlib.import_module(f"{model.module}.models").build_detector
    built = build(edited)
    built.init_weights()
    return built.to(device)


def batch(device: str, seed: int, train: bool) -> dict[str, Any]:
    """Two normalised images, their ``img_metas``, and for training three boxes and labels each."""
    import numpy as np
    import torch

    gen = torch.Generator().manual_seed(seed)
    size = DETECTION_SIZE
    shape = (size, size, 3)
    meta = {"img_shape": shape, "ori_shape": shape, "pad_shape": shape, "batch_input_shape": (size, size),
            "scale_factor": np.ones(4, dtype=np.float32), "flip": False}
    data: dict[str, Any] = {"img": torch.randn((2, 3, size, size), generator=gen).to(device),
                            "img_metas": [dict(meta) for _ in range(2)]}
    if train:
        corner = [torch.randint(0, size // 2, (3, 2), generator=gen).float() for _ in range(2)]
        extent = [torch.randint(16, size // 2, (3, 2), generator=gen).float() for _ in range(2)]
        data["gt_bboxes"] = [torch.cat([c, c + e], dim=1).to(device) for c, e in zip(corner, extent)]
        data["gt_labels"] = [torch.randint(0, CLASSES, (3,), generator=gen).to(device) for _ in range(2)]
    return data


def inference(built, device: str, seed: int) -> str:
    import torch

    data = batch(device, seed, train=False)
    built.eval()
    with torch.no_grad():
        results = built(img=[data["img"]], img_metas=[data["img_metas"]], return_loss=False, rescale=False)
    boxes = sum(len(per_class) for per_class in results[0])
    return f"{boxes} boxes predicted for the first image"


def train_step(built, device: str, seed: int) -> str:
    from torch.optim import SGD

    built.train()
    optimizer = SGD(built.parameters(), lr=1e-4, momentum=0.9)
    outputs = built.train_step(batch(device, seed, train=True), optimizer)
    total = float(outputs["loss"])
    if not math.isfinite(total):
        raise FloatingPointError(f"the losses are not finite: {outputs['log_vars']}")
    optimizer.zero_grad()
    outputs["loss"].backward()
    optimizer.step()
    return f"loss {total:.3f} ({len(outputs['log_vars']) - 1} terms), one SGD step"


def save_and_load(model: StackModel, built, work_dir: Path, seed: int) -> tuple[str, str, dict[str, Any]]:
    """(status, message, data): ``built`` saved by ``mmcv.runner.save_checkpoint`` with its optimizer,
    loaded back into a fresh model by ``load_checkpoint``."""
    import torch
    from mmcv.runner import load_checkpoint, save_checkpoint
    from torch.optim import SGD

    built = built if built is not None else build_model(model, "cpu")   # the step checks could not build it
    device = str(next(built.parameters()).device)
    path = work_dir / "latest.pth"
    optimizer = SGD(built.parameters(), lr=1e-4, momentum=0.9)
    save_checkpoint(built, str(path), optimizer=optimizer, meta={"epoch": 1, "iter": 1, "seed": seed})
    fresh = build_model(model, device)
    loaded = load_checkpoint(fresh, str(path), map_location="cpu")
    size_mb = path.stat().st_size / 2**20
    data = {"checkpoint_mib": round(size_mb, 1), "optimizer_saved": "optimizer" in loaded,
            "meta": {k: loaded["meta"].get(k) for k in ("epoch", "iter")}}
    theirs = dict(fresh.named_parameters())
    same = all(name in theirs and torch.equal(p.detach().cpu(), theirs[name].detach().cpu())
               for name, p in built.named_parameters())
    if not same or not data["optimizer_saved"]:
        return "fail", f"{path.name} loaded back, but the weights or the optimizer state differ", data
    return ("pass", f"mmcv.runner saved {path.name} ({size_mb:.0f} MiB, with the optimizer); a fresh model "
                    "loaded it with load_checkpoint: the same weights", data)

"""Focal losses (Lin et al. 2017), per element, as mmcv's kernels define them."""

from __future__ import annotations

import torch

TINY = torch.finfo(torch.float32).tiny


def sigmoid_focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float, alpha: float,
                       weight: torch.Tensor | None = None) -> torch.Tensor:
    """(N, C) logits, (N,) class ids -> (N, C) loss; ``weight`` (C,) scales rows by their target class."""
    p = torch.sigmoid(logits)
    positive = torch.nn.functional.one_hot(target, logits.shape[1]).to(logits.dtype)
    loss_pos = -alpha * (1 - p).pow(gamma) * torch.log(p.clamp(min=TINY))
    loss_neg = -(1 - alpha) * p.pow(gamma) * torch.log((1 - p).clamp(min=TINY))
    loss = positive * loss_pos + (1 - positive) * loss_neg
    if weight is not None:
        loss = loss * weight[target][:, None]
    return loss


def softmax_focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float, alpha: float,
                       weight: torch.Tensor | None = None) -> torch.Tensor:
    """(N, C) logits, (N,) class ids -> (N,) loss of the target class under a softmax."""
    p = torch.softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    loss = -alpha * (1 - p).pow(gamma) * torch.log(p.clamp(min=TINY))
    if weight is not None:
        loss = loss * weight[target]
    return loss


"""Point-wise spatial attention masks: PSAMask (Zhao et al. 2018, PSANet)."""

from __future__ import annotations

import torch

COLLECT, DISTRIBUTE = 0, 1


def psamask(inputs: torch.Tensor, psa_type: int, mask_size: tuple[int, int]) -> torch.Tensor:
    """(N, h_mask * w_mask, H, W) -> (N, H * W, H, W).

    Channel (i, j) of the input at pixel (h, w) is the attention between (h, w) and the pixel
    displaced by (i - (h_mask - 1) // 2, j - (w_mask - 1) // 2). ``collect`` stores it at
    [other pixel, h, w], ``distribute`` at [(h, w) as a channel, other pixel]; pairs that fall
    outside the feature map stay 0.
    """
    batch, _, height, width = inputs.shape
    h_mask, w_mask = mask_size
    half_h, half_w = (h_mask - 1) // 2, (w_mask - 1) // 2
    out = inputs.new_zeros((batch, height * width, height, width))
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    for i in range(h_mask):
        for j in range(w_mask):
            other_h, other_w = rows + i - half_h, cols + j - half_w
            inside = (other_h >= 0) & (other_h < height) & (other_w >= 0) & (other_w < width)
            h, w = rows[inside], cols[inside]
            other = other_h[inside] * width + other_w[inside]
            values = inputs[:, i * w_mask + j, h, w]
            if psa_type == COLLECT:
                out[:, other, h, w] = values
            else:
                out[:, h * width + w, other_h[inside], other_w[inside]] = values
    return out

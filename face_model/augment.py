"""Batch augmentation on CPU tensors: one affine warp and a few elementwise ops per batch, so augmenting
costs a fraction of the training step instead of a Python loop per image."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(x: torch.Tensor, generator: torch.Generator | None = None, degrees: float = 12.0, zoom: float = 0.12,
            shift: float = 0.16) -> torch.Tensor:  # fmt: skip
    """Random flip, rotation (±12°), scale (0.88-1.12), shift (±8 % of the side: 0.16 of the grid's [-1, 1]),
    brightness/contrast and random erasing; the pose ranges are wider for faces from films (``films``).

    ``x`` is (N, 1, H, W) in [0, 1]; the output has the same shape and range.
    """
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.empty(n).uniform_(low, high, generator=generator)

    angle = uniform(-degrees, degrees) * math.pi / 180
    scale = uniform(1 - zoom, 1 + zoom)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin
    theta[:, 1, 0] = sin * flip
    theta[:, 1, 1] = cos
    theta[:, 0, 2] = uniform(-shift, shift)
    theta[:, 1, 2] = uniform(-shift, shift)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    contrast = uniform(0.7, 1.3).view(n, 1, 1, 1)
    brightness = uniform(-0.15, 0.15).view(n, 1, 1, 1)
    out = ((out - mean) * contrast + mean + brightness).clamp(0, 1)
    return _random_erase(out, generator)


def _random_erase(x: torch.Tensor, generator: torch.Generator | None, p: float = 0.5) -> torch.Tensor:
    """Blank a random rectangle (2-20 % of the area) in about half the images, with noise, as in Zhong et al."""
    n, _, h, w = x.shape
    area = torch.empty(n).uniform_(0.02, 0.2, generator=generator) * h * w
    aspect = torch.exp(torch.empty(n).uniform_(math.log(0.3), math.log(3.3), generator=generator))
    eh = (area * aspect).sqrt().clamp(1, h).long()
    ew = (area / aspect).sqrt().clamp(1, w).long()
    top = (torch.rand(n, generator=generator) * (h - eh + 1)).long()
    left = (torch.rand(n, generator=generator) * (w - ew + 1)).long()
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    mask = (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + eh).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + ew).view(n, 1, 1))
        & (torch.rand(n, generator=generator) < p).view(n, 1, 1)
    ).unsqueeze(1)
    noise = torch.rand(x.shape, generator=generator)
    return torch.where(mask, noise, x)

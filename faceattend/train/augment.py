"""Augmentation of aligned crops in torch (torchvision cannot be installed here).

Small on purpose: the crops are already aligned to the template the network was trained on,
so a large warp would teach it faces it never sees in use. Flip, colour jitter (webcams and
rooms differ in light and white balance; some photos are grey) and a small similarity warp
(landmark error of a few pixels, a slight head tilt).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from faceattend.train.options import Augment

__all__ = ["Augment", "augment", "to_tensor"]


def to_tensor(crops: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, 112, 112, 3) uint8 -> (N, 3, 112, 112) float 0..255 on ``device``."""
    x = torch.from_numpy(np.ascontiguousarray(crops)).to(device)
    return x.permute(0, 3, 1, 2).float()


def _colour(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]

    def factor(strength: float) -> torch.Tensor:
        u = torch.rand(n, 1, 1, 1, generator=gen, device=x.device) * 2 - 1
        return 1 + strength * u

    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    x = grey + (x - grey) * factor(aug.saturation)
    mean = grey.mean(dim=(2, 3), keepdim=True)
    x = mean + (x - mean) * factor(aug.contrast)
    x = x * factor(aug.brightness)
    to_grey = torch.rand(n, 1, 1, 1, generator=gen, device=x.device) < aug.grey
    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
    return torch.where(to_grey, grey, x).clamp(0, 255)


def _warp(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(n, generator=gen, device=x.device) * 2 - 1) * limit

    angle = uniform(math.radians(aug.rotate_deg))
    scale = 1 + uniform(aug.scale)
    flip = torch.where(torch.rand(n, generator=gen, device=x.device) < aug.flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos * flip, -sin, uniform(2 * aug.shift_px / w)], 1),
        torch.stack([sin * flip, cos, uniform(2 * aug.shift_px / h)], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def augment(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    """Random views of a (N, 3, 112, 112) float 0..255 batch (new tensor; input untouched).

    ``gen`` must live on ``x``'s device; it makes runs repeatable.
    """
    return _warp(_colour(x, aug, gen), aug, gen)

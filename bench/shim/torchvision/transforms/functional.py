"""``to_tensor`` as torchvision defines it for numpy HxWxC input (used by extract_face only)."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(pic: np.ndarray) -> torch.Tensor:
    """HxWxC array -> CxHxW float tensor; uint8 scaled to 0..1 like torchvision."""
    array = np.asarray(pic)
    if array.ndim == 2:
        array = array[:, :, None]
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    return tensor.float().div(255) if array.dtype == np.uint8 else tensor

"""Box arithmetic for the MTCNN cascade, in torch so it runs where the networks run.

Boxes are (K, 4) float tensors x1, y1, x2, y2 in pixels. The formulas follow facenet-pytorch
(``models/utils/detect_face.py``) on purpose, +1s and truncations included, so that our boxes
agree with the reference implementation people compare against:

- "union" overlap is torchvision's IoU (no +1); "min" overlap is the original MATLAB/numpy
  ``inter / min(area)`` with +1 pixel sizes, used by the last stage;
- a box suppresses another when the overlap is strictly greater than the threshold.

Crops are area-resized (exactly ``adaptive_avg_pool2d``, i.e. ``interpolate(mode="area")``)
from an integral image, so any number of crops of any sizes come out of one gather.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch


def overlap(boxes: torch.Tensor, mode: str = "union") -> torch.Tensor:
    """Pairwise overlap (K, K) of ``boxes``: IoU (``union``) or inter/min-area (``min``)."""
    plus = 1.0 if mode == "min" else 0.0
    x1, y1, x2, y2 = boxes.unbind(1)
    area = (x2 - x1 + plus) * (y2 - y1 + plus)
    iw = (torch.minimum(x2[:, None], x2[None]) - torch.maximum(x1[:, None], x1[None]) + plus)
    ih = (torch.minimum(y2[:, None], y2[None]) - torch.maximum(y1[:, None], y1[None]) + plus)
    inter = iw.clamp_(min=0) * ih.clamp_(min=0)
    if mode == "min":
        return inter / torch.minimum(area[:, None], area[None])
    if mode == "union":
        return inter / (area[:, None] + area[None] - inter)
    raise ValueError(f"unknown overlap mode {mode!r}")


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, mode: str = "union") -> torch.Tensor:
    """Greedy non-maximum suppression; returns kept indices, best score first.

    The greedy rule "keep a box unless a kept, better box overlaps it by more than
    ``threshold``" is solved as a fixed point on the whole overlap matrix instead of a Python
    loop over boxes: starting from "keep all", each pass re-applies the rule. After pass t the
    t best boxes are final, and the rule determines the answer uniquely, so the first pass that
    changes nothing has the exact greedy result (in practice after a handful of passes).
    Equal scores are ordered as the reference implementations order them (see :func:`_order`).
    """
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = _order(scores, mode)
    beats = (overlap(boxes[order], mode) > threshold).triu_(1)  # [i, j]: better i hits j
    keep = torch.ones(order.shape[0], dtype=torch.bool, device=boxes.device)
    # Only boxes that something overlaps can ever change: iterate on those columns alone.
    hit = beats.any(0).nonzero().squeeze(1)
    if hit.numel():
        beats = beats[:, hit]
        for _ in range(hit.numel() + 1):
            new = ~(beats & keep[:, None]).any(0)
            if torch.equal(new, keep[hit]):
                break
            keep[hit] = new
    return order[keep]


def _order(scores: torch.Tensor, mode: str) -> torch.Tensor:
    """Indices by decreasing score. Ties: torchvision (``union``) takes the earlier box first;
    the numpy original (``min``) takes the last of an ascending argsort, which for the few boxes
    of the last stage is the later one (numpy leaves ties among many boxes unspecified)."""
    if mode == "min":
        return scores.sort(stable=True).indices.flip(0)
    return scores.sort(descending=True, stable=True).indices


#: Above this many boxes, batched NMS runs group by group: the one-matrix form needs K x K
#: overlaps (several copies), which for a large photo's first stage would be gigabytes.
_ONE_MATRIX_MAX = 2048


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, threshold: float,
    mode: str = "union",
) -> torch.Tensor:
    """NMS within each group (image, or image and pyramid level); kept indices, best first.

    Each group is shifted by a multiple of (largest coordinate + 1) so boxes of different
    groups can never overlap (torchvision's trick), and all go through one :func:`nms`.
    """
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    if boxes.shape[0] > _ONE_MATRIX_MAX:
        kept = [members[nms(boxes[members], scores[members], threshold, mode)]
                for members in _members(groups)]
        keep = torch.cat(kept).sort().values  # back to input order, so ties break as below
        return keep[_order(scores[keep], mode)]
    shift = groups.to(boxes.dtype) * (boxes.max() + 1)
    return nms(boxes + shift[:, None], scores, threshold, mode)


def _members(groups: torch.Tensor) -> list[torch.Tensor]:
    """Indices of each group's members, in their original order."""
    order = groups.sort(stable=True).indices
    counts = torch.unique_consecutive(groups[order], return_counts=True)[1]
    return list(order.split(counts.tolist()))


def regress(boxes: torch.Tensor, offsets: torch.Tensor, plus_one: bool) -> torch.Tensor:
    """Move box edges by ``offsets`` (fractions of the box size).

    facenet-pytorch measures the size as x2 - x1 after the first stage and x2 - x1 + 1 after
    the later ones (``bbreg``); ``plus_one`` picks which.
    """
    plus = 1.0 if plus_one else 0.0
    size = (boxes[:, 2:4] - boxes[:, 0:2] + plus).repeat(1, 2)
    return boxes + offsets * size


def square(boxes: torch.Tensor) -> torch.Tensor:
    """Grow each box to a square around its centre (``rerec``): the next net wants squares."""
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    side = wh.max(dim=1, keepdim=True).values
    top_left = boxes[:, 0:2] + wh * 0.5 - side * 0.5
    return torch.cat([top_left, top_left + side], dim=1)


def crop_windows(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Integer pixel windows (x0, y0, x1, y1), end-exclusive, of boxes cut to the image.

    As facenet-pytorch's ``pad``: truncate, then crop only the part inside the image and let
    the resize stretch it (no zero padding). An empty window (box fully outside) has
    x1 <= x0 or y1 <= y0; see :func:`nonempty`.
    """
    b = boxes.trunc().long()
    x0 = b[:, 0].clamp(min=1) - 1
    y0 = b[:, 1].clamp(min=1) - 1
    x1 = b[:, 2].clamp(max=width)
    y1 = b[:, 3].clamp(max=height)
    return torch.stack([x0, y0, x1, y1], dim=1)


def nonempty(windows: torch.Tensor) -> torch.Tensor:
    """Which windows hold at least one pixel."""
    return (windows[:, 2] > windows[:, 0]) & (windows[:, 3] > windows[:, 1])


def integral_image(frames: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """Summed-area table (N, H+1, W+1, C) on ``device`` of same-size uint8 frames (H, W, C).

    Exact in integers: int32 holds the sum of any 8-bit image up to 8.4 megapixels, larger
    ones use int64. On the CPU OpenCV's SIMD ``integral`` is several times faster than two
    torch cumsums; elsewhere the frames go to the device and are summed there.
    """
    h, w, _ = frames[0].shape
    frames = [np.ascontiguousarray(frame) for frame in frames]
    if device.type == "cpu" and h * w * 255 < 2**31:
        return torch.from_numpy(np.stack([cv2.integral(frame) for frame in frames]))
    return integral_image_torch(torch.from_numpy(np.stack(frames)).to(device))


def integral_image_torch(pixels: torch.Tensor) -> torch.Tensor:
    """:func:`integral_image` of (N, H, W, C) uint8 pixels, computed where they are."""
    n, h, w, c = pixels.shape
    dtype = torch.int32 if h * w * 255 < 2**31 else torch.int64
    table = torch.zeros((n, h + 1, w + 1, c), dtype=dtype, device=pixels.device)
    table[:, 1:, 1:] = pixels.to(dtype).cumsum(1).cumsum(2)
    return table


def area_resize(
    table: torch.Tensor, image: torch.Tensor, windows: torch.Tensor, out_h: int, out_w: int
) -> torch.Tensor:
    """Area-resize windows of the frames behind ``table`` to (K, C, out_h, out_w) float32.

    Output cell i spans input rows floor(i*h/out_h) .. ceil((i+1)*h/out_h), as in
    ``adaptive_avg_pool2d``; every cell's sum is 4 lookups in the integral image, so all windows
    of all frames are resized by one gather. ``image`` (K,) says which frame each window is in.
    """
    _, h1, w1, c = table.shape
    x0, y0, x1, y1 = windows.unbind(1)
    rows_s, rows_e = _cell_edges(y0, y1, out_h)
    cols_s, cols_e = _cell_edges(x0, x1, out_w)
    base = (image * (h1 * w1))[:, None, None]
    flat = table.reshape(-1, c)

    def at(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        return base + rows[:, :, None] * w1 + cols[:, None, :]

    index = torch.stack([at(rows_e, cols_e), at(rows_s, cols_e), at(rows_e, cols_s), at(rows_s, cols_s)])
    corner = flat.index_select(0, index.flatten()).view(4, -1, out_h, out_w, c)
    sums = corner[0] - corner[1] - corner[2] + corner[3]
    counts = (rows_e - rows_s)[:, :, None] * (cols_e - cols_s)[:, None, :]
    means = sums.to(torch.float32) / counts[..., None].to(torch.float32)
    return means.permute(0, 3, 1, 2)


def _cell_edges(start: torch.Tensor, end: torch.Tensor, cells: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end (exclusive) input index of each of ``cells`` output cells, per window."""
    size = (end - start)[:, None]
    i = torch.arange(cells, device=start.device)[None]
    first = start[:, None] + torch.div(i * size, cells, rounding_mode="floor")
    last = start[:, None] + torch.div((i + 1) * size + cells - 1, cells, rounding_mode="floor")
    return first, last

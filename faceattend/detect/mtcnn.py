"""The MTCNN cascade: image pyramid -> PNet -> RNet -> ONet, with NMS between the stages.

The semantics are facenet-pytorch's ``detect_face`` (scales, thresholds, the +1s, crops cut to
the image and stretched), so the boxes agree with it; the work is arranged for speed:

- every pyramid level of every frame is area-resized straight from one integral image into a
  single canvas, and PNet runs once over it (see :class:`_Pyramid`);
- all RNet and ONet crops are cut and resized by one gather each, and go through one batched
  forward; NMS is a vectorised torch function; nothing leaves the device until the end;
- a stage with no candidates ends the cascade.

Tensors stay inside this package: the public methods take and return numpy frames and
:class:`~faceattend.types.Detection` objects.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from faceattend.batching import run_padded
from faceattend.detect import boxes as bx
from faceattend.detect.nets import MASKED, ONet, PNet, RNet, convert_keras_weights
from faceattend.device import pick_device
from faceattend.paths import package_file
from faceattend.types import Detection
from faceattend.weights import load_converted

#: Bump a tag when the conversion in nets.py changes, so old cache entries are not reused.
_WEIGHT_TAGS = {"pnet": "mtcnn-pnet-v1", "rnet": "mtcnn-rnet-v1", "onet": "mtcnn-onet-v1"}

#: Packed pyramid maps kept, one per frame size and detector setting (least recently used ones are
#: dropped).
_PYRAMIDS_KEPT = 4


def _normalise(pixels: torch.Tensor) -> torch.Tensor:
    """The input scaling the MTCNN weights were trained with."""
    return (pixels - 127.5) * 0.0078125


@dataclass
class _Candidates:
    """Boxes in flight between stages (all tensors on the detector's device)."""

    boxes: torch.Tensor  # (K, 4)
    scores: torch.Tensor  # (K,)
    image: torch.Tensor  # (K,) which frame of the batch
    landmarks: torch.Tensor | None = None  # (K, 5, 2) after ONet

    def take(self, index: torch.Tensor) -> _Candidates:
        marks = None if self.landmarks is None else self.landmarks[index]
        return _Candidates(self.boxes[index], self.scores[index], self.image[index], marks)

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


class _Pyramid:
    """All pyramid levels of an HxW frame packed into one canvas, for one PNet call.

    Levels are placed at even offsets in columns (a simple shelf packing), so PNet's stride-2
    grid lines up with each level's own grid. Windows that would straddle two levels are
    discarded, and conv1 outputs outside any level are masked before the max-pool (see
    :meth:`PNet.forward`), so every kept output equals running PNet on that level alone.
    Built once per frame size and device, then reused.
    """

    def __init__(self, height: int, width: int, min_face: int, factor: float, device: torch.device) -> None:
        scale = 12.0 / min_face
        side = min(height, width) * scale
        self.scales: list[float] = []
        while side >= 12:
            self.scales.append(scale)
            scale, side = scale * factor, side * factor
        sizes = [(int(height * s + 1), int(width * s + 1)) for s in self.scales]
        places, self.canvas_h, self.canvas_w = _pack(sizes)
        self._build_maps(height, width, sizes, places, device)

    def _build_maps(
        self, height: int, width: int, sizes: list[tuple[int, int]],
        places: list[tuple[int, int]], device: torch.device,
    ) -> None:
        ch, cw = self.canvas_h, self.canvas_w
        corners = np.zeros((4, ch, cw), dtype=np.int64)  # integral-image lookups per pixel
        counts = np.ones((ch, cw), dtype=np.float32)
        valid = np.zeros((ch - 2, cw - 2), dtype=bool)  # conv1 outputs inside one level
        oh, ow = math.ceil((ch - 2) / 2) - 4, math.ceil((cw - 2) / 2) - 4
        level = np.full((oh, ow), -1, dtype=np.int64)  # PNet output cell -> level
        local = np.zeros((2, oh, ow), dtype=np.float32)  # ... and its x, y in that level
        for k, ((h, w), (r, c)) in enumerate(zip(sizes, places, strict=True)):
            ys = (np.arange(h + 1) * height) // h  # adaptive_avg_pool2d cell edges
            ye = ((np.arange(1, h + 1) * height) + h - 1) // h
            xs = (np.arange(w + 1) * width) // w
            xe = ((np.arange(1, w + 1) * width) + w - 1) // w
            ys, xs = ys[:h], xs[:w]
            w1 = width + 1
            corners[0, r:r + h, c:c + w] = ye[:, None] * w1 + xe[None]
            corners[1, r:r + h, c:c + w] = ys[:, None] * w1 + xe[None]
            corners[2, r:r + h, c:c + w] = ye[:, None] * w1 + xs[None]
            corners[3, r:r + h, c:c + w] = ys[:, None] * w1 + xs[None]
            counts[r:r + h, c:c + w] = (ye - ys)[:, None] * (xe - xs)[None]
            valid[r:r + h - 2, c:c + w - 2] = True
            nh, nw = math.ceil((h - 2) / 2) - 4, math.ceil((w - 2) / 2) - 4
            level[r // 2:r // 2 + nh, c // 2:c // 2 + nw] = k
            local[0, r // 2:r // 2 + nh, c // 2:c // 2 + nw] = np.arange(nw)[None]
            local[1, r // 2:r // 2 + nh, c // 2:c // 2 + nw] = np.arange(nh)[:, None]
        self.corners = torch.from_numpy(corners.reshape(-1).astype(np.int32)).to(device)
        self.counts = torch.from_numpy(counts.reshape(-1, 1)).to(device)
        self.pool_mask = torch.from_numpy(np.where(valid, 0.0, MASKED).astype(np.float32)).to(device)
        self.level = torch.from_numpy(level).to(device)
        self.local = torch.from_numpy(local).to(device)
        self.scale_of = torch.tensor(self.scales, dtype=torch.float32, device=device)

    def canvas(self, table: torch.Tensor) -> torch.Tensor:
        """(N, 3, canvas_h, canvas_w) normalised canvas of the frames behind ``table``."""
        n, h1, w1, c = table.shape
        corner = table.reshape(n, h1 * w1, c).index_select(1, self.corners).view(n, 4, -1, c)
        sums = corner[:, 0] - corner[:, 1] - corner[:, 2] + corner[:, 3]
        pixels = sums.to(torch.float32) / self.counts
        return _normalise(pixels).reshape(n, self.canvas_h, self.canvas_w, c).permute(0, 3, 1, 2)


def _pack(sizes: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], int, int]:
    """Place (h, w) rectangles, largest first, on a canvas as tall as the first; even offsets.

    Columns as wide as their first rectangle hold shelves as tall as theirs; each rectangle
    goes, first fit, beside the others on a shelf, else on a new shelf, else in a new column.
    For 640x480 the canvas is about 10% larger than the levels themselves.
    Returns the (row, col) of each and the canvas (height, width).
    """
    even = [(h + h % 2, w + w % 2) for h, w in sizes]
    height = even[0][0]
    columns: list[list[int]] = []  # [x, width, used height]
    shelves: list[list[int]] = []  # [column index, y, height, used width]
    places: list[tuple[int, int]] = []
    for h, w in even:
        shelf = next((s for s in shelves if h <= s[2] and s[3] + w <= columns[s[0]][1]), None)
        if shelf is None:
            k = next((i for i, c in enumerate(columns) if c[2] + h <= height and w <= c[1]), None)
            if k is None:
                columns.append([columns[-1][0] + columns[-1][1] if columns else 0, w, 0])
                k = len(columns) - 1
            shelf = [k, columns[k][2], h, 0]
            shelves.append(shelf)
            columns[k][2] += h
        places.append((shelf[1], columns[shelf[0]][0] + shelf[3]))
        shelf[3] += w
    return places, height, columns[-1][0] + columns[-1][1]


class MTCNNDetector:
    """Finds faces and their five landmarks in RGB frames.

    ``min_face_size`` is the smallest face side in pixels that is looked for (smaller is slower);
    ``scale_factor`` is the ratio between pyramid levels; ``thresholds`` are the face
    probabilities PNet, RNet and ONet must exceed. The networks start with random weights:
    call :meth:`load_pretrained` (or use :func:`load_detector`).
    """

    def __init__(
        self, min_face_size: int = 40, scale_factor: float = 0.709,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        device: str | torch.device = "auto",
    ) -> None:
        self.min_face_size = int(min_face_size)
        self.scale_factor = float(scale_factor)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        for net in (self.pnet, self.rnet, self.onet):
            # Channels-last: the crops and the canvas are built that way, and oneDNN's
            # convolutions and pools run 2-3x faster on it than on NCHW on a CPU.
            net.to(self.device, memory_format=torch.channels_last).eval().requires_grad_(False)  # type: ignore[call-overload]  # stubs lack memory_format
        self._pyramids: OrderedDict[tuple[int, int, int, float], _Pyramid] = OrderedDict()

    def load_pretrained(self) -> MTCNNDetector:
        """Load the original MTCNN weights shipped by the ``mtcnn`` package (converted, cached)."""
        for name, net in (("pnet", self.pnet), ("rnet", self.rnet), ("onet", self.onet)):
            source = package_file("mtcnn", "assets", "weights", f"{name}.lz4")
            convert = partial(convert_keras_weights, order=net.KERAS_ORDER)
            load_converted(net, source, convert, _WEIGHT_TAGS[name])
        return self

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in one RGB uint8 HxWx3 frame, best score first."""
        return self.detect_batch([frame])[0]

    @torch.inference_mode()
    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Faces in each frame; frames of the same size go through the networks together."""
        results: list[list[Detection]] = [[] for _ in frames]
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            _check_frame(frame)
            by_size.setdefault(frame.shape[:2], []).append(i)
        for (height, width), members in by_size.items():
            table = self._table([frames[i] for i in members])
            found = self._run_cascade(table, height, width)
            for i, dets in zip(members, found, strict=True):
                results[i] = dets
        return results

    @torch.inference_mode()
    def refine(self, frame: np.ndarray, previous: Sequence[Detection]) -> list[Detection]:
        """Re-check faces found in an earlier frame, for tracking between full detections.

        Each previous box is squared (as the cascade squares boxes before ONet) and goes
        through ONet alone, skipping the pyramid, PNet and RNet that make up most of a full
        :meth:`detect`. Faces that are gone fail ONet's threshold and drop out; new faces are
        not found, so the caller still runs ``detect`` now and then. On video frames the
        squared box as it is kept faces better than widened ones or an RNet pass first:
        ONet's training crops were squares of about the final box's size.
        """
        _check_frame(frame)
        if not previous:
            return []
        height, width = frame.shape[:2]
        cands = _Candidates(
            bx.square(torch.tensor([d.box for d in previous], dtype=torch.float32, device=self.device)),
            torch.tensor([d.score for d in previous], dtype=torch.float32, device=self.device),
            torch.zeros(len(previous), dtype=torch.long, device=self.device),
        )
        cands = self._stage3(self._table([frame]), cands, height, width)
        return _to_detections(cands, 1, height, width)[0]

    def _table(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        return bx.integral_image(frames, self.device)

    def _run_cascade(self, table: torch.Tensor, height: int, width: int) -> list[list[Detection]]:
        n = table.shape[0]
        cands = self._stage1(table, height, width)
        if len(cands):
            cands = self._stage2(table, cands, height, width)
        if len(cands):
            cands = self._stage3(table, cands, height, width)
        return _to_detections(cands, n, height, width)

    def _pyramid(self, height: int, width: int) -> _Pyramid | None:
        """The packed pyramid for this frame size, or None when the frame is too small.

        Keyed by the minimum face size and scale factor too: a setting changed at run time
        (between frames, see ``gui.workers.RecognitionThread.between_frames``) takes effect on
        the next frame. A factor outside (0, 1) would never finish the pyramid: refused.
        """
        min_face, factor = int(self.min_face_size), float(self.scale_factor)
        if min_face < 1 or not 0.0 < factor < 1.0:
            raise ValueError(f"min_face_size {min_face} must be positive and scale_factor {factor} in (0, 1)")
        if min(height, width) * 12.0 / min_face < 12:
            return None  # frame smaller than the smallest face looked for
        key = (height, width, min_face, factor)
        if key in self._pyramids:
            self._pyramids.move_to_end(key)
        else:  # a camera has one size; photos of many sizes must not pile up maps
            self._pyramids[key] = _Pyramid(height, width, min_face, factor, self.device)
            while len(self._pyramids) > _PYRAMIDS_KEPT:
                self._pyramids.popitem(last=False)
        return self._pyramids[key]

    def _stage1(self, table: torch.Tensor, height: int, width: int) -> _Candidates:
        """PNet over the packed pyramid: windows over threshold, NMS per level then per frame."""
        pyramid = self._pyramid(height, width)
        if pyramid is None:
            return _empty(self.device)
        prob, offsets = self.pnet(pyramid.canvas(table), pyramid.pool_mask)
        hits = ((prob >= self.thresholds[0]) & (pyramid.level >= 0)).nonzero()
        image, i, j = hits.unbind(1)
        level = pyramid.level[i, j]
        # Level-major order, then stable sorts: equal scores (saturated at 1.0) are then
        # resolved as facenet-pytorch resolves them, which loops over levels.
        by_level = level.sort(stable=True).indices
        image, i, j, level = image[by_level], i[by_level], j[by_level], level[by_level]
        scale = pyramid.scale_of[level][:, None]
        cell = pyramid.local[:, i, j].t()  # x, y of the window in its level
        boxes = torch.cat([((2 * cell + 1) / scale).floor(), ((2 * cell + 12) / scale).floor()], 1)
        scores = prob[image, i, j]
        offsets = offsets[image, :, i, j]
        keep = bx.batched_nms(boxes, scores, image * len(pyramid.scales) + level, 0.5)
        keep = keep[level[keep].sort(stable=True).indices]
        keep = keep[bx.batched_nms(boxes[keep], scores[keep], image[keep], 0.7)]
        boxes = bx.square(bx.regress(boxes[keep], offsets[keep], plus_one=False))
        return _Candidates(boxes, scores[keep], image[keep])

    def _crops(self, table: torch.Tensor, cands: _Candidates, size: int, height: int, width: int
               ) -> tuple[_Candidates, torch.Tensor]:
        """Normalised (K, 3, size, size) crops of the candidates; empty ones are dropped."""
        windows = bx.crop_windows(cands.boxes, width, height)
        ok = bx.nonempty(windows)
        if not bool(ok.all()):  # a box wholly outside the frame has nothing to look at
            cands, windows = cands.take(ok), windows[ok]
        return cands, _normalise(bx.area_resize(table, cands.image, windows, size, size))

    def _stage2(self, table: torch.Tensor, cands: _Candidates, height: int, width: int) -> _Candidates:
        """RNet re-scores 24x24 crops; survivors are NMS'd, regressed and squared."""
        cands, crops = self._crops(table, cands, 24, height, width)
        if not len(cands):
            return cands
        prob, offsets = run_padded(self.rnet, crops)
        ok = prob > self.thresholds[1]
        cands = _Candidates(cands.boxes[ok], prob[ok], cands.image[ok])
        keep = bx.batched_nms(cands.boxes, cands.scores, cands.image, 0.7)
        cands = cands.take(keep)
        cands.boxes = bx.square(bx.regress(cands.boxes, offsets[ok][keep], plus_one=True))
        return cands

    def _stage3(self, table: torch.Tensor, cands: _Candidates, height: int, width: int) -> _Candidates:
        """ONet's final score, box and landmarks on 48x48 crops, then NMS by "min" overlap."""
        cands, crops = self._crops(table, cands, 48, height, width)
        if not len(cands):
            return cands
        prob, offsets, marks = run_padded(self.onet, crops)
        ok = prob > self.thresholds[2]
        boxes, offsets, marks = cands.boxes[ok], offsets[ok], marks[ok]
        size = boxes[:, 2:4] - boxes[:, 0:2] + 1
        points = marks.view(-1, 2, 5).transpose(1, 2) * size[:, None] + boxes[:, None, 0:2] - 1
        cands = _Candidates(bx.regress(boxes, offsets, plus_one=True), prob[ok], cands.image[ok], points)
        return cands.take(bx.batched_nms(cands.boxes, cands.scores, cands.image, 0.7, mode="min"))


def _empty(device: torch.device) -> _Candidates:
    return _Candidates(
        torch.zeros((0, 4), device=device), torch.zeros(0, device=device),
        torch.zeros(0, dtype=torch.long, device=device),
    )


def _check_frame(frame: np.ndarray) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 frame, got {frame.dtype} {frame.shape}")


def _to_detections(cands: _Candidates, n_images: int, height: int, width: int) -> list[list[Detection]]:
    """Per-frame Detection lists, best first, boxes clipped to the frame (one device->host copy)."""
    out: list[list[Detection]] = [[] for _ in range(n_images)]
    if not len(cands) or cands.landmarks is None:
        return out
    order = cands.scores.argsort(descending=True)
    boxes = cands.boxes[order]
    limit = torch.tensor([width, height, width, height], dtype=boxes.dtype, device=boxes.device)
    boxes = torch.minimum(boxes.clamp(min=0), limit)
    packed = torch.cat([boxes, cands.scores[order, None], cands.landmarks[order].flatten(1),
                        cands.image[order, None].to(boxes.dtype)], 1).cpu().numpy()
    for row in packed:
        box = (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
        marks = row[5:15].reshape(5, 2).astype(np.float32)
        out[int(row[15])].append(Detection(box=box, score=float(row[4]), landmarks=marks))
    return out


def load_detector(
    min_face_size: int = 40, scale_factor: float = 0.709,
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
    device: str | torch.device = "auto",
) -> MTCNNDetector:
    """A detector with the pretrained MTCNN weights, ready to use."""
    return MTCNNDetector(min_face_size, scale_factor, thresholds, device).load_pretrained()

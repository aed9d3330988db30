"""What the trained layers see: the frozen front's outputs, cached once per crop and view.

With the front frozen (``head`` and ``last``), each crop goes through it once clean and a few
times augmented, stored in float16; an epoch then only runs the small trained back. With
``all`` nothing is frozen, so the bank keeps the crops and augments them afresh every step.
Reference faces are kept clean and mirrored, because their targets (the stock model's
embeddings) are computed once, for exactly those two views.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from faceattend.train.augment import Augment, augment, to_tensor
from faceattend.train.data import FaceSet, TrainData
from faceattend.train.model import Front

#: Largest batch sent through the front at once (bounds memory on big sets).
CHUNK = 32
#: Memory the cached augmented views may take; fewer views are cached past it.
VIEW_BUDGET_BYTES = 1.5e9


@dataclass
class FeatureBank:
    """Front outputs (or crops, when nothing is frozen) of every set of a :class:`TrainData`."""

    layers: str
    live: bool  # True: tensors are crops (N, 3, 112, 112) uint8; augment on the fly
    train: torch.Tensor  # (V + 1, N, ...) view 0 clean; (1, N, ...) when live
    heldout: torch.Tensor
    strangers: torch.Tensor
    reference: torch.Tensor  # (2, R, ...) clean and mirrored

    @property
    def views(self) -> int:
        return int(self.train.shape[0])


def _front_chunks(front: Front, crops: np.ndarray, device: torch.device, aug: Augment | None,
                  gen: torch.Generator | None, flip: bool = False) -> Iterator[torch.Tensor]:
    for start in range(0, len(crops), CHUNK):
        x = to_tensor(crops[start:start + CHUNK], device)
        if flip:
            x = x.flip(3)
        if aug is not None and gen is not None:
            x = augment(x, aug, gen)
        yield front(x).to(torch.float16).cpu()


def count_views(requested: int, n_train: int, bytes_per_crop: int) -> int:
    """Augmented views to cache: as requested, unless they would not fit the budget."""
    affordable = int(VIEW_BUDGET_BYTES // max(1, n_train * bytes_per_crop)) - 1
    return max(1, min(requested, affordable))


def bank_cost(data: TrainData, views: int, live: bool) -> int:
    """Crops the front will process to build the bank (the unit of preparation progress)."""
    if live:
        return 0
    return len(data.train) * (views + 1) + len(data.heldout) + len(data.strangers) + 2 * len(data.reference)


def build_bank(front: Front, data: TrainData, views: int, aug: Augment, device: torch.device,
               seed: int) -> Iterator[int | FeatureBank]:
    """Yields the number of crops done so far, then the finished bank."""
    if front.layers == "all":
        def crops(s: FaceSet) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(s.crops)).permute(0, 3, 1, 2)
        ref = crops(data.reference)
        yield FeatureBank("all", True, crops(data.train)[None], crops(data.heldout), crops(data.strangers),
                          torch.stack([ref, ref.flip(3)]))
        return
    gen = torch.Generator(device=device).manual_seed(seed)
    done = 0
    parts: dict[str, list[torch.Tensor]] = {}
    jobs: list[tuple[str, FaceSet, Augment | None, bool]] = [("train0", data.train, None, False)]
    jobs += [(f"train{v}", data.train, aug, False) for v in range(1, views + 1)]
    jobs += [("heldout", data.heldout, None, False), ("strangers", data.strangers, None, False),
             ("ref0", data.reference, None, False), ("ref1", data.reference, None, True)]
    for key, faces, job_aug, flip in jobs:
        parts[key] = []
        for out in _front_chunks(front, faces.crops, device, job_aug, gen, flip):
            parts[key].append(out)
            done += len(out)
            yield done
    shape = _out_shape(front, device)

    def cat(key: str) -> torch.Tensor:
        return torch.cat(parts[key]) if parts[key] else torch.zeros((0, *shape), dtype=torch.float16)

    train = torch.stack([cat(f"train{v}") for v in range(views + 1)])
    yield FeatureBank(front.layers, False, train, cat("heldout"), cat("strangers"),
                      torch.stack([cat("ref0"), cat("ref1")]))


def _out_shape(front: Front, device: torch.device) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(front(torch.zeros(1, 3, 112, 112, device=device)).shape[1:])


def front_bytes(layers: str) -> int:
    """Bytes one cached view of one crop takes (float16)."""
    return {"head": 1024 * 7 * 7 * 2, "last": 512 * 14 * 14 * 2, "all": 3 * 112 * 112}[layers]

"""Plain data shared by every stage of the pipeline.

Conventions, fixed once here so no stage has to guess:
- a frame is RGB uint8, HxWx3, C-contiguous;
- a box is (x1, y1, x2, y2) in pixels, float;
- landmarks are 5x2 (x, y) in pixels: left eye, right eye, nose, left mouth, right mouth
  (left/right as seen in the image).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:  # the types stay importable without loading torch
    import torch

Box = tuple[float, float, float, float]


@dataclass(frozen=True, eq=False)
class Detection:
    """One face found by the detector."""

    box: Box
    score: float
    landmarks: np.ndarray  # (5, 2) float32, x/y in pixels

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Match:
    """The gallery's answer for one face.

    ``similarity`` is the cosine similarity to the closest enrolled sample of the best person
    (1 = identical direction, 0 = unrelated). ``person_id``/``name`` are None for Unknown, i.e.
    when the best similarity is below the threshold or the gallery is empty.
    """

    person_id: int | None
    name: str | None
    similarity: float

    @property
    def known(self) -> bool:
        return self.person_id is not None

    @property
    def label(self) -> str:
        return self.name if self.name is not None else "Unknown"


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face, its aligned crop, its embedding and who it is."""

    detection: Detection
    crop: np.ndarray  # (112, 112, 3) uint8 RGB, aligned
    embedding: np.ndarray  # (D,) float32, L2-normalised
    match: Match = field(default_factory=lambda: Match(None, None, -1.0))


class Detector(Protocol):
    """What the pipeline, the live loop and the GUI need from a face detector.

    :class:`faceattend.detect.MTCNNDetector` is the real one; tests pass doubles. The two
    settings are read on every detection, so a change applies from the next frame.
    """

    min_face_size: int  # smallest face side looked for, pixels
    scale_factor: float  # ratio between pyramid levels, in (0, 1)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in one RGB frame, best score first."""
        ...

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Faces in each frame (same-size frames run together: faster for evaluation)."""
        ...

    def refine(self, frame: np.ndarray, previous: Sequence[Detection]) -> list[Detection]:
        """Re-check faces found in an earlier frame (tracking); never finds new ones."""
        ...


class Embedder(Protocol):
    """What the pipeline, training and the GUI need from a face embedder.

    :class:`faceattend.embed.FaceEmbedder` is the real one. ``model_name`` is stored with every
    embedding so embeddings of different models are never compared; ``flip`` must stay the same
    for a whole gallery.
    """

    model_name: str
    dim: int
    device: torch.device
    flip: bool

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB aligned crops -> (N, dim) float32 unit rows."""
        ...

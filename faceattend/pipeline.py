"""The one place that knows the order of the steps: detect -> align -> embed -> match."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faceattend.align import align_faces
from faceattend.config import Settings
from faceattend.match import DEFAULT_THRESHOLD, Gallery
from faceattend.types import Detection, Face, Match

ACTIVE_MODEL_KEY = "active_model"


class FaceCountError(ValueError):
    """An enrolment photo must show exactly one face; the message says how many it has."""


class Recognizer:
    """Turns a frame into named faces. Holds the networks; create it once, off the GUI thread."""

    def __init__(self, detector, embedder, gallery: Gallery | None = None,  # noqa: ANN001
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.detector = detector
        self.embedder = embedder
        self.gallery = gallery if gallery is not None else Gallery.empty(embedder.dim)
        self.threshold = threshold

    @property
    def model_name(self) -> str:
        return str(self.embedder.model_name)

    def faces(self, frame: np.ndarray) -> list[Face]:
        """Every face in the frame, recognised (or Unknown)."""
        return self.recognise(frame, self.detector.detect(frame))

    def recognise(self, frame: np.ndarray, detections: Sequence[Detection]) -> list[Face]:
        """Align, embed (one batch for all faces) and match already-detected faces."""
        if not detections:
            return []
        crops = align_faces(frame, detections)
        embeddings = self.embedder.embed(crops)
        matches = self.gallery.match(embeddings, self.threshold)
        return [Face(d, c, e, m) for d, c, e, m in zip(detections, crops, embeddings, matches)]

    def single_face(self, frame: np.ndarray, what: str = "the photo") -> Face:
        """The one face of an enrolment photo; raises FaceCountError for none or several."""
        detections = self.detector.detect(frame)
        if not detections:
            raise FaceCountError(f"no face found in {what}")
        if len(detections) > 1:
            raise FaceCountError(f"{len(detections)} faces found in {what}; use a photo of one person")
        return self.recognise(frame, detections)[0]

    def identify(self, embeddings: np.ndarray) -> list[Match]:
        return self.gallery.match(embeddings, self.threshold)


def models_dir(settings: Settings) -> Path:
    """Fine-tuned model versions live next to the database they were trained for."""
    return settings.database_path().parent / "models"


def model_weights(settings: Settings, model_name: str | None) -> Path | None:
    """The weights file of a fine-tuned model, or None for the stock model."""
    from faceattend.embed import STOCK_MODEL

    if not model_name or model_name == STOCK_MODEL:
        return None
    path = models_dir(settings) / f"{model_name}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"the model {model_name} is missing ({path})")
    return path


def load_recognizer(settings: Settings, model_name: str | None = None) -> Recognizer:
    """Build the networks with pretrained weights (seconds; never on the GUI thread)."""
    from faceattend.detect import load_detector
    from faceattend.embed import load_embedder

    detector = load_detector(settings.min_face_size, settings.scale_factor, device=settings.device)
    embedder = load_embedder(settings.device, weights=model_weights(settings, model_name))
    return Recognizer(detector, embedder, threshold=settings.threshold)

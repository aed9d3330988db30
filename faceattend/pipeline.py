"""The one place that knows the order of the steps: detect -> align -> embed -> match."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from faceattend.align import align_faces, pad_frame, padding_needed
from faceattend.config import Settings
from faceattend.errors import UserError
from faceattend.match import DEFAULT_THRESHOLD, Gallery
from faceattend.types import Detection, Detector, Embedder, Face, Match

ACTIVE_MODEL_KEY = "active_model"


class FaceCountError(UserError):
    """An enrolment photo must show exactly one face; the message says how many it has."""


class Recognizer:
    """Turns a frame into named faces. Holds the networks; create it once, off the GUI thread."""

    def __init__(self, detector: Detector, embedder: Embedder, gallery: Gallery | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.detector = detector
        self.embedder = embedder
        self.gallery = gallery if gallery is not None else Gallery.empty(embedder.dim)
        self.threshold = threshold

    @property
    def model_name(self) -> str:
        return self.embedder.model_name

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
        return [Face(d, c, e, m) for d, c, e, m in zip(detections, crops, embeddings, matches, strict=True)]

    def single_face(self, frame: np.ndarray, what: str = "the photo", pad: bool = True) -> Face:
        """The one face of an enrolment photo; raises FaceCountError for none or several.

        With ``pad`` (the default) a face that reaches the photo's edge, or a photo where no face
        is found, is detected again on the photo padded with repeated edge pixels: in a tight ID
        crop the detector's box and landmarks are unreliable at the border and the aligned crop
        would be shrunk or shifted with black areas. The returned detection is in the photo's own
        coordinates; the crop and embedding come from the padded photo.
        """
        detections = _main_faces(self.detector.detect(frame))
        border = self._border(frame, detections) if pad else 0
        if border:
            padded = pad_frame(frame, border)
            found = _main_faces([d for d in self.detector.detect(padded) if _centre_inside(d, border, frame.shape)])
            if found or not detections:
                frame, detections = padded, found
            else:
                border = 0
        if not detections:
            raise FaceCountError(f"no face found in {what}")
        if len(detections) > 1:
            raise FaceCountError(f"{len(detections)} faces found in {what}; use a photo of one person")
        face = self.recognise(frame, detections)[0]
        return replace(face, detection=_shifted(face.detection, -border)) if border else face

    @staticmethod
    def _border(frame: np.ndarray, detections: Sequence[Detection]) -> int:
        """Padding the photo needs (0: every face's crop lies well inside it)."""
        if not detections:  # a face filling the photo is often not found at all
            return int(0.3 * max(frame.shape[:2]))
        need = max(padding_needed(d.landmarks, frame.shape) for d in detections)
        return min(need, max(frame.shape[:2]))

    def identify(self, embeddings: np.ndarray) -> list[Match]:
        return self.gallery.match(embeddings, self.threshold)


#: In an enrolment photo, a face less than this share of the widest face's width is background
#: (a poster, a passer-by far behind) or a false detection (a curl of hair), not a second sitter.
BACKGROUND_FACE = 0.3


def _main_faces(detections: Sequence[Detection]) -> list[Detection]:
    """The faces of a photo that count: not much smaller than the main one, and not centred
    inside a larger face's box (a hand or microphone at the chin, seen as a face now and then)."""
    ranked = sorted(detections, key=lambda d: -d.width)
    widest = ranked[0].width if ranked else 0.0
    kept: list[Detection] = []
    for d in ranked:
        x, y = (d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2
        inside = any(k.box[0] <= x <= k.box[2] and k.box[1] <= y <= k.box[3] for k in kept)
        if d.width >= BACKGROUND_FACE * widest and not inside:
            kept.append(d)
    return kept


def _centre_inside(detection: Detection, border: int, shape: tuple[int, ...]) -> bool:
    """Whether a face found in the padded photo is centred on the photo itself (not the border)."""
    x = (detection.box[0] + detection.box[2]) / 2 - border
    y = (detection.box[1] + detection.box[3]) / 2 - border
    return 0 <= x < shape[1] and 0 <= y < shape[0]


def _shifted(detection: Detection, offset: float) -> Detection:
    x1, y1, x2, y2 = detection.box
    box = (x1 + offset, y1 + offset, x2 + offset, y2 + offset)
    return replace(detection, box=box, landmarks=(detection.landmarks + offset).astype(np.float32))


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

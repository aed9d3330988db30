"""Enrolment samples from a video (or a folder of frames) of one person, as the window captures them.

The window's capture keeps only frames with exactly one large, sharp, frontal face
(:func:`faceattend.quality.judge`) and spaces the samples in time so they differ a little. A video
file gets the same gate; the samples are then spread over the whole video (the sharpest good
frame of each stretch), and frames whose face is not the same person as the rest (someone else
alone in view for a moment) are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceattend.camera import CameraError, open_source
from faceattend.enrol import Candidate
from faceattend.images import is_image_file
from faceattend.pipeline import Recognizer
from faceattend.quality import assess, judge, sharpness
from faceattend.types import Face

#: Frames looked at per sample wanted: enough to find good ones, few enough to stay fast on a CPU
#: (a full detection of a 1080p frame costs a few tenths of a second there).
LOOKS_PER_SAMPLE = 8
#: A good frame whose face matches the others' typical face below this is someone else.
SAME_PERSON = 0.5


@dataclass(frozen=True)
class GoodFrame:
    index: int
    face: Face
    shape: tuple[int, ...]


@dataclass
class VideoScan:
    """What the scan found: the chosen samples, and how many frames were refused and why."""

    candidates: list[Candidate] = field(default_factory=list)
    looked: int = 0
    refused: Counter[str] = field(default_factory=Counter)


def frame_count(spec: str) -> int | None:
    """Frames in a video file or image folder, when the container says (None for streams)."""
    path = Path(spec)
    if path.is_dir():
        return sum(1 for p in path.iterdir() if is_image_file(p))
    if not path.is_file():
        return None
    capture = cv2.VideoCapture(str(path))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return count if count > 0 else None


def scan_video(recognizer: Recognizer, spec: str, wanted: int = 5,
               progress: Callable[[int, int], None] | None = None) -> VideoScan:
    """Look at evenly spaced frames of ``spec`` and pick ``wanted`` good samples spread over it.

    Raises ``CameraError`` when the video or folder cannot be opened.
    """
    total = frame_count(spec)
    if total is None:
        raise CameraError(f"{spec} is not a video file or a folder of frames")
    stride = max(1, total // max(1, wanted * LOOKS_PER_SAMPLE))
    source = open_source(spec)
    scan, good = VideoScan(), list[GoodFrame]()
    try:
        index = 0
        while (frame := source.read()) is not None:
            if index % stride == 0:
                scan.looked += 1
                faces = recognizer.faces(frame)
                verdict = judge(faces)
                if verdict.ok:
                    good.append(GoodFrame(index, faces[0], frame.shape))
                else:
                    scan.refused[verdict.reason] += 1
                if progress is not None:
                    progress(index + 1, total)
            index += 1
    finally:
        source.close()
    kept = _same_person(good, scan)
    for chosen in _spread(kept, wanted):
        scan.candidates.append(Candidate(f"{Path(spec).name} frame {chosen.index}", chosen.face,
                                         assess(chosen.face, chosen.shape)))
    return scan


def _same_person(good: list[GoodFrame], scan: VideoScan) -> list[GoodFrame]:
    """The good frames whose face agrees with the typical one (the medoid of all of them)."""
    if len(good) < 3:
        return good
    embeddings = np.stack([g.face.embedding for g in good])
    similarity = embeddings @ embeddings.T
    medoid = int(np.argmax(similarity.sum(axis=1)))
    kept = [g for g, s in zip(good, similarity[medoid], strict=True) if s >= SAME_PERSON]
    if len(kept) < len(good):
        scan.refused["another person than in most frames"] += len(good) - len(kept)
    return kept


def _spread(good: list[GoodFrame], wanted: int) -> list[GoodFrame]:
    """The sharpest frame of each of ``wanted`` equal stretches of the good frames, in time order."""
    if len(good) <= wanted:
        return good
    chosen = []
    for part in np.array_split(np.arange(len(good)), wanted):
        best = max(part, key=lambda i: sharpness(good[i].face.crop))
        chosen.append(good[int(best)])
    return chosen

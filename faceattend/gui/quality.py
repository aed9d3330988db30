"""Is a captured face good enough to enrol? Pure numpy/OpenCV, so it is tested without a window.

A gallery is only as good as its samples: a blurred, tiny or turned-away face gives an
embedding that matches strangers or misses the person later. Live capture therefore keeps only
frames with exactly one face that is large, sharp and roughly frontal.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceattend.types import Detection, Face

#: Variance of the Laplacian of the grey 112x112 aligned crop below which a face is blurred
#: (sharp webcam and video faces measure 200-1000 here, motion-blurred or tiny ones under 50).
MIN_SHARPNESS = 60.0
#: Smallest face width (pixels in the frame) accepted for enrolment.
MIN_ENROL_FACE = 64
#: How far the nose may sit from the middle of the eyes, as a share of the eye distance
#: (0 = perfectly frontal; about 0.5 is a head turned so the nose reaches one eye).
MAX_YAW = 0.22
#: Largest tilt of the eye line, in degrees.
MAX_ROLL = 20.0


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # why a face is refused, as a hint for the person in front of the camera


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian: high for crisp edges, low for motion blur or defocus."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def yaw_and_roll(detection: Detection) -> tuple[float, float]:
    """(nose offset from the eyes' midpoint / eye distance, eye-line angle in degrees)."""
    marks = np.asarray(detection.landmarks, dtype=np.float64)
    left, right, nose = marks[0], marks[1], marks[2]
    eyes = right - left
    distance = float(np.hypot(*eyes)) or 1.0
    # Project the nose onto the eye line: 0 when it lies half-way between the eyes.
    along = float(np.dot(nose - (left + right) / 2, eyes / distance))
    roll = float(np.degrees(np.arctan2(eyes[1], eyes[0])))
    return abs(along) / distance, abs(roll)


def judge(faces: list[Face], min_size: int = MIN_ENROL_FACE, min_sharpness: float = MIN_SHARPNESS) -> Verdict:
    """Whether the frame's faces make one good enrolment sample, else the hint to show."""
    if not faces:
        return Verdict(False, "no face in view")
    if len(faces) > 1:
        return Verdict(False, f"{len(faces)} faces in view; only the person enrolling should be seen")
    face = faces[0]
    if face.detection.width < min_size:
        return Verdict(False, "come closer to the camera")
    yaw, roll = yaw_and_roll(face.detection)
    if yaw > MAX_YAW or roll > MAX_ROLL:
        return Verdict(False, "look straight at the camera")
    if sharpness(face.crop) < min_sharpness:
        return Verdict(False, "hold still (the picture is blurred)")
    return Verdict(True, "")

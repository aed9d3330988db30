"""Is a face good enough to enrol? One gate for camera captures, video frames and photos.

A gallery is only as good as its samples: a blurred, tiny, turned-away or cut-off face gives an
embedding that matches strangers or misses the person later. Pure numpy/OpenCV (no Qt, no
torch), so the window, the command line and the tests share it.

Two levels, because the sources differ. The camera (and a video) can simply try the next frame,
so live capture keeps only faces with no problem at all (:func:`judge`). A photo is all the
operator may have (an ID photo), so a photo with a *weak* face is still enrolled, with the reasons
reported, and only an *unusable* one is refused (:func:`assess`); the operator is told when a
person ends up with weak samples only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceattend.align import TEMPLATE, outside_fraction, similarity_transform
from faceattend.types import Detection, Face

#: Variance of the Laplacian of the grey 112x112 aligned crop below which a face is blurred
#: (sharp webcam and video faces measure 200-1000 here, motion-blurred or tiny ones under 50).
MIN_SHARPNESS = 60.0
#: Below this a photo's face is too blurred to be worth storing at all.
UNUSABLE_SHARPNESS = 20.0
#: Smallest face width (pixels in the frame) accepted for enrolment.
MIN_ENROL_FACE = 64
#: Below this width a photo's face is refused: the 112x112 crop would be mostly interpolation.
UNUSABLE_FACE = 32
#: How far the nose may sit from the middle of the eyes, as a share of the eye distance
#: (0 = perfectly frontal; about 0.5 is a head turned so the nose reaches one eye).
MAX_YAW = 0.22
#: Largest tilt of the eye line, in degrees.
MAX_ROLL = 20.0
#: Share of the aligned crop that may come from outside the photo (filled by padding) before
#: the sample counts as weak. A tight ID crop (the detector's box) has about 40% of the crop
#: outside (median) and, padded, embeds close to the uncropped photo; a photo that cuts into the face goes past
#: this. Chosen on LFW people A-L (the lowest limit flagging at most 5% of tight crops), reported
#: on people M-Z: 5% of tight crops and 94% of crops that lost identity (cosine under 0.8 to the
#: uncropped photo) flagged (``bench/cutoff_gate.py``, bench/results/2026-12-03-cutoff-gate.txt).
MAX_OUTSIDE = 0.48
#: RMS distance (crop pixels, 112x112) between the aligned landmarks and the template. Frontal
#: faces measure 1-4; above this the five points do not look like a face seen from the front
#: (a profile, a wrong detection, a face at the photo's very edge).
MAX_LANDMARK_ERROR = 7.0
UNUSABLE_LANDMARK_ERROR = 14.0


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # why a face is refused, as a hint for the person in front of the camera


@dataclass(frozen=True)
class Quality:
    """What is wrong with one face sample: ``unusable`` refuses it, ``weak`` only warns."""

    unusable: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()

    @property
    def good(self) -> bool:
        return not self.unusable and not self.weak

    @property
    def text(self) -> str:
        return "; ".join(self.unusable + self.weak)


#: Rows and columns of the aligned crop measured for sharpness: eyebrows to chin, cheek to cheek.
#: The rest is hair and background, or padding where a tight photo stopped, which is smooth by
#: nature and would make a sharp face look blurred.
FACE_ROWS, FACE_COLS = slice(28, 104), slice(22, 90)


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian over the face: high for crisp edges, low for blur or defocus."""
    grey = cv2.cvtColor(np.ascontiguousarray(crop[FACE_ROWS, FACE_COLS]), cv2.COLOR_RGB2GRAY)
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


def landmark_error(landmarks: np.ndarray) -> float:
    """RMS distance, in crop pixels, of the five aligned points from the template's.

    A similarity transform can only rotate, scale and move: points that are not where a
    frontal face has them (eyes under the mouth, a nose outside the face) stay far off.
    """
    marks = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    matrix = similarity_transform(marks)
    aligned = marks @ matrix[:, :2].T + matrix[:, 2]
    return float(np.sqrt(((aligned - TEMPLATE) ** 2).sum(axis=1).mean()))


def assess(face: Face, frame_shape: tuple[int, ...] | None = None,
           min_size: int = MIN_ENROL_FACE, min_sharpness: float = MIN_SHARPNESS) -> Quality:
    """Every reason this face makes a poor sample; ``frame_shape`` (the photo's, before any
    padding) adds the check that the face is not cut off by the photo's edge."""
    unusable: list[str] = []
    weak: list[str] = []
    width = face.detection.width
    if width < UNUSABLE_FACE:
        unusable.append(f"the face is only {width:.0f} pixels wide (at least {UNUSABLE_FACE} needed)")
    elif width < min_size:
        weak.append(f"small face ({width:.0f} pixels wide; {min_size} or more is better)")
    error = landmark_error(face.detection.landmarks)
    if error > UNUSABLE_LANDMARK_ERROR:
        unusable.append(f"the eyes, nose and mouth were not found where a face has them (error {error:.0f})")
    elif error > MAX_LANDMARK_ERROR:
        weak.append(f"eyes, nose and mouth found in an odd place (error {error:.1f})")
    yaw, roll = yaw_and_roll(face.detection)
    if yaw > MAX_YAW:
        weak.append(f"head turned (nose {100 * yaw:.0f}% of the eye distance off centre)")
    if roll > MAX_ROLL:
        weak.append(f"head tilted {roll:.0f} degrees")
    sharp = sharpness(face.crop)
    if sharp < UNUSABLE_SHARPNESS:
        unusable.append(f"too blurred (sharpness {sharp:.0f}; {min_sharpness:.0f} or more is good)")
    elif sharp < min_sharpness:
        weak.append(f"blurred (sharpness {sharp:.0f}; {min_sharpness:.0f} or more is good)")
    if frame_shape is not None:
        outside = outside_fraction(face.detection.landmarks, frame_shape)
        if outside > MAX_OUTSIDE:
            weak.append(f"the face is cut off by the photo's edge ({100 * outside:.0f}% of the crop is outside)")
    return Quality(tuple(unusable), tuple(weak))


def judge(faces: list[Face], min_size: int = MIN_ENROL_FACE, min_sharpness: float = MIN_SHARPNESS) -> Verdict:
    """Whether the frame's faces make one good enrolment sample, else the hint to show.

    The live gate: the camera can try again, so any problem refuses the frame.
    """
    if not faces:
        return Verdict(False, "no face in view")
    if len(faces) > 1:
        return Verdict(False, f"{len(faces)} faces in view; only the person enrolling should be seen")
    face = faces[0]
    if face.detection.width < min_size:
        return Verdict(False, "come closer to the camera")
    yaw, roll = yaw_and_roll(face.detection)
    if yaw > MAX_YAW or roll > MAX_ROLL or landmark_error(face.detection.landmarks) > MAX_LANDMARK_ERROR:
        return Verdict(False, "look straight at the camera")
    if sharpness(face.crop) < min_sharpness:
        return Verdict(False, "hold still (the picture is blurred)")
    return Verdict(True, "")

"""Face alignment: five landmarks -> a 112x112 crop on the standard ArcFace/SFace template.

The embedder was trained on faces warped so that the eyes, nose tip and mouth corners land on
fixed pixels; feeding it anything else costs accuracy. The warp is a similarity transform
(rotation, uniform scale, translation; no shear, no mirroring) fitted by least squares with
Umeyama's closed form. That is the estimator OpenCV's own ``FaceRecognizerSF::alignCrop`` and
scikit-image's ``SimilarityTransform`` (used by insightface) implement, so our crops match the
crops the model was evaluated on. We prefer it over ``cv2.estimateAffinePartial2D`` with LMEDS:
with only five points a robust estimator has nothing to reject, may fit fewer than five points,
and is not a plain deterministic function of its input.

Pure numpy/OpenCV: no torch here, the crops are numpy arrays like every frame in the core.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from faceattend.types import Detection

CROP_SIZE = 112

#: Where the five landmarks (left eye, right eye, nose, left mouth, right mouth, as seen in the
#: image) must land in the 112x112 crop.
TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray = TEMPLATE) -> np.ndarray:
    """The 2x3 similarity matrix that maps ``src`` points onto ``dst`` in the least-squares sense.

    Umeyama (PAMI 1991) without reflection: a mirrored face must not be "aligned" by flipping
    it, so a reflection in the best orthogonal fit is replaced by the best proper rotation.
    Degenerate input (all points equal) gives a pure translation rather than a division by 0.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, sing, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    src_var = (src_c**2).sum() / len(src)
    scale = float((sing * sign).sum() / src_var) if src_var > 1e-12 else 1.0
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_face(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Warp ``frame`` (RGB uint8 HxWx3) so ``landmarks`` (5x2 x/y) land on the template.

    Returns a C-contiguous 112x112x3 uint8 RGB crop. Bilinear sampling as in OpenCV's
    ``alignCrop``; pixels outside the frame are black.
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 frame, got shape {frame.shape}")
    matrix = similarity_transform(landmarks)
    crop = cv2.warpAffine(
        frame,
        matrix,
        (CROP_SIZE, CROP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.ascontiguousarray(crop, dtype=np.uint8)


def align_faces(frame: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
    """Aligned crops of every detection, stacked as (N, 112, 112, 3) uint8; N may be 0.

    A single array (not a list) so the embedder can take all faces of a frame in one batch.
    """
    crops = np.zeros((len(detections), CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    for index, detection in enumerate(detections):
        crops[index] = align_face(frame, detection.landmarks)
    return crops


def crop_footprint(landmarks: np.ndarray) -> np.ndarray:
    """Where the 112x112 crop's pixel centres come from in the frame: (112*112, 2) x/y points."""
    matrix = similarity_transform(landmarks)
    inverse = cv2.invertAffineTransform(matrix)
    ys, xs = np.mgrid[0:CROP_SIZE, 0:CROP_SIZE].astype(np.float64)
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return points @ inverse[:, :2].T + inverse[:, 2]


def outside_fraction(landmarks: np.ndarray, frame_shape: tuple[int, ...]) -> float:
    """Share of the aligned crop that lies outside a frame of ``frame_shape`` (black, or padding)."""
    points = crop_footprint(landmarks)
    height, width = frame_shape[:2]
    inside = (points[:, 0] >= 0) & (points[:, 0] <= width - 1) & (points[:, 1] >= 0) & (points[:, 1] <= height - 1)
    return float(1.0 - inside.mean())


def padding_needed(landmarks: np.ndarray, frame_shape: tuple[int, ...], context: float = 0.25) -> int:
    """Pixels of border each side of the frame needs so the aligned crop, plus ``context`` of its
    size around it (what the detector needs to place its box and landmarks well), lies inside."""
    points = crop_footprint(landmarks)
    height, width = frame_shape[:2]
    low, high = points.min(axis=0), points.max(axis=0)
    margin = context * float((high - low).max())
    reach = max(-low[0], -low[1], high[0] - (width - 1), high[1] - (height - 1)) + margin
    return max(0, int(np.ceil(reach)))


def pad_frame(frame: np.ndarray, pad: int) -> np.ndarray:
    """``frame`` with ``pad`` pixels of repeated edge pixels on every side.

    Repeating the edge (not mirroring it) gives the detector context without a mirrored second
    face, and gives the aligned crop plausible colours where the photo stopped instead of black.
    """
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(padded)

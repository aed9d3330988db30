"""Alignment: landmarks must land on the 112x112 template, whatever the pose and scale."""

from __future__ import annotations

import numpy as np

from faceattend.align import CROP_SIZE, TEMPLATE, align_face, align_faces, similarity_transform
from faceattend.types import Detection


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([rot, np.array(shift, dtype=np.float64)[:, None]])


def test_template_landmarks_give_identity_crop() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    matrix = similarity_transform(TEMPLATE)
    assert np.allclose(matrix, [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    crop = align_face(image, TEMPLATE.astype(np.float32))
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3) and crop.dtype == np.uint8
    assert np.abs(crop.astype(int) - image.astype(int)).max() <= 1


def test_rotated_scaled_landmarks_map_back_onto_template() -> None:
    forward = _similarity(angle_deg=23.0, scale=2.3, shift=(210.0, 95.0))
    landmarks = _apply(forward, TEMPLATE)
    back = similarity_transform(landmarks)
    assert np.abs(_apply(back, landmarks) - TEMPLATE).max() < 0.5
    assert np.abs(_apply(back, landmarks) - TEMPLATE).max() < 1e-6  # exact fit: 5 consistent points


def test_warped_pixels_land_on_template() -> None:
    """End to end through warpAffine: blobs drawn at the landmarks come out at the template."""
    forward = _similarity(angle_deg=-31.0, scale=1.7, shift=(260.0, 40.0))
    landmarks = _apply(forward, TEMPLATE)
    ys, xs = np.mgrid[0:400, 0:500].astype(np.float64)
    frame = np.zeros((400, 500), dtype=np.float64)
    for x, y in landmarks:
        frame += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 4.0**2))
    rgb = np.repeat((np.clip(frame, 0, 1) * 255).astype(np.uint8)[:, :, None], 3, axis=2)
    crop = align_face(rgb, landmarks.astype(np.float32))[:, :, 0].astype(np.float64)
    cy, cx = np.mgrid[0:CROP_SIZE, 0:CROP_SIZE].astype(np.float64)
    for tx, ty in TEMPLATE:
        window = ((cx - tx) ** 2 + (cy - ty) ** 2) < 6.0**2
        weight = crop * window
        centroid = np.array([(weight * cx).sum(), (weight * cy).sum()]) / weight.sum()
        assert np.abs(centroid - (tx, ty)).max() < 0.5


def test_mirrored_landmarks_are_not_reflected() -> None:
    mirrored = TEMPLATE.copy()
    mirrored[:, 0] = 112.0 - mirrored[:, 0]
    assert np.linalg.det(similarity_transform(mirrored)[:, :2]) > 0


def test_align_faces_batches_and_handles_no_faces() -> None:
    frame = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    empty = align_faces(frame, [])
    assert empty.shape == (0, CROP_SIZE, CROP_SIZE, 3) and empty.dtype == np.uint8
    dets = [
        Detection((0, 0, 100, 100), 0.99, _apply(_similarity(0, 0.8, (10, 5)), TEMPLATE).astype(np.float32)),
        Detection((0, 0, 100, 100), 0.98, _apply(_similarity(10, 1.2, (150, 60)), TEMPLATE).astype(np.float32)),
    ]
    crops = align_faces(frame, dets)
    assert crops.shape == (2, CROP_SIZE, CROP_SIZE, 3) and crops.dtype == np.uint8
    for crop, det in zip(crops, dets, strict=True):
        assert np.array_equal(crop, align_face(frame, det.landmarks))

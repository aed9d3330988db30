"""Gallery matching: several samples per person, the Unknown threshold, an empty gallery."""

from __future__ import annotations

import numpy as np
import pytest

from faceattend.config import Settings, SettingsFileError, load_settings, save_settings
from faceattend.match import Gallery


def normalised(rows: list[list[float]]) -> np.ndarray:
    m = np.asarray(rows, np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_best_sample_of_each_person_decides() -> None:
    gallery = Gallery(normalised([[1, 0, 0], [0, 1, 0], [0.6, 0.8, 0]]), [7, 8, 7], {7: "Ann", 8: "Bo"})
    ids, scores = gallery.person_scores(normalised([[0.6, 0.8, 0]]))
    assert list(ids) == [7, 8]
    assert scores[0, 0] == pytest.approx(1.0) and scores[0, 1] == pytest.approx(0.8)
    assert gallery.match(normalised([[0.6, 0.8, 0]]), 0.5)[0].name == "Ann"


def test_below_threshold_is_unknown() -> None:
    gallery = Gallery(normalised([[1, 0, 0]]), [1], {1: "Ann"})
    match = gallery.match(normalised([[0.5, 0.5, 0.70710678]]), threshold=0.6)[0]
    assert not match.known and match.label == "Unknown"
    assert match.similarity == pytest.approx(0.5, abs=1e-5)


def test_empty_gallery_knows_nobody() -> None:
    assert Gallery.empty(3).match(normalised([[1, 0, 0]]))[0].label == "Unknown"


def test_settings_round_trip_and_a_damaged_file_is_reported(tmp_path) -> None:
    path = tmp_path / "settings.toml"
    save_settings(Settings(threshold=0.5, camera="clip.mp4", min_face_size=60), path)
    loaded = load_settings(path)
    assert (loaded.threshold, loaded.camera, loaded.min_face_size) == (0.5, "clip.mp4", 60)
    path.write_text("threshold = 'high'\n[[[broken")
    with pytest.raises(SettingsFileError):  # never silently defaults: see tests/test_config.py
        load_settings(path)

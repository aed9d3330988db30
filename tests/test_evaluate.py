"""The evaluation protocols behind ``faceattend eval``.

Most tests drive the real protocol code with a stand-in recogniser whose similarities are chosen
by hand (each photo is a uniform grey picture whose shade names its embedding), so every figure
has an expected value worked out on paper. One test runs the real networks on a slice of LFW.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import pytest

from faceattend.align import CROP_SIZE, TEMPLATE
from faceattend.evaluate import best_threshold, identify_open_set, threshold_at_far, verify_lfw
from faceattend.pipeline import Recognizer
from faceattend.types import Detection

from conftest import data_path
from recognition_fixtures import recognizer  # noqa: F401  (fixture)

DIM = 16


class GreyPhotos:
    """Photos on disk that stand for chosen embeddings: shade ``k`` is the ``k``-th vector."""

    def __init__(self) -> None:
        self.vectors: list[np.ndarray] = [np.zeros(DIM, np.float32)]  # shade 0: the black border

    def write(self, path: Path, vector: np.ndarray) -> None:
        shade = len(self.vectors)
        assert shade < 256, "a test needs at most 255 photos"
        self.vectors.append(np.asarray(vector, np.float32) / np.linalg.norm(vector))
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", np.full((CROP_SIZE, CROP_SIZE, 3), shade, np.uint8))
        assert ok
        path.write_bytes(png.tobytes())  # PNG bytes under LFW's .jpg names: decoded by content

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """One face whose landmarks are the alignment template: the crop is the photo itself."""
        h, w = frame.shape[:2]
        return [Detection((0.0, 0.0, float(w), float(h)), 1.0, TEMPLATE.astype(np.float32))]

    def embed(self, crops: np.ndarray) -> np.ndarray:
        return np.stack([self.vectors[int(c[CROP_SIZE // 2, CROP_SIZE // 2, 0])] for c in crops])

    @property
    def detector(self) -> GreyPhotos:
        return self

    @property
    def embedder(self) -> GreyPhotos:
        return self

    def as_recognizer(self) -> Recognizer:
        return cast(Recognizer, self)


def unit(*weights: tuple[int, float]) -> np.ndarray:
    """A unit vector with the given (axis, weight) entries and the rest of its length on the
    last axis, which no enrolled vector uses: its similarity to ``e_axis`` is exactly ``weight``."""
    v = np.zeros(DIM)
    for axis, weight in weights:
        v[axis] = weight
    v[DIM - 1] = math.sqrt(1 - float(v @ v))
    return v


def pairs_with_scores(tmp_path: Path, folds: list[tuple[list[float], list[float]]],
                      missing: tuple[int, int] | None = None) -> tuple[GreyPhotos, Path, Path]:
    """An LFW pairs file whose fold ``k`` has same pairs scoring ``folds[k][0]`` and different
    pairs scoring ``folds[k][1]``; ``missing=(fold, pair)`` leaves out one photo of that pair."""
    photos, images = GreyPhotos(), tmp_path / "images"
    per_fold = len(folds[0][0])
    lines = [f"{len(folds)}\t{per_fold}"]
    for k, (same, different) in enumerate(folds):
        for n, score in enumerate(same + different):
            first, second = (f"S{k}_{n}", f"S{k}_{n}") if n < per_fold else (f"A{k}_{n}", f"B{k}_{n}")
            lines.append(f"{first}\t1\t2" if first == second else f"{first}\t1\t{second}\t1")
            other = 2 if first == second else 1
            photos.write(images / first / f"{first}_0001.jpg", unit((0, 1.0)))
            if (k, n) != missing:
                photos.write(images / second / f"{second}_{other:04d}.jpg", unit((0, score)))
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n")
    return photos, pairs, images


# -- best_threshold on hand-made scores -----------------------------------------------------
def test_best_threshold_separates_clean_scores_halfway_between_the_classes() -> None:
    t = best_threshold(np.array([0.2, 0.3, 0.7, 0.8]), np.array([False, False, True, True]))
    assert t == pytest.approx(0.5)


def test_best_threshold_with_tied_scores_never_splits_a_tie() -> None:
    scores = np.array([0.3, 0.6, 0.6, 0.9])
    same = np.array([False, True, False, True])
    t = best_threshold(scores, same)
    assert t not in scores, "a threshold on a tied score would decide the tie by >= alone"
    assert np.mean((scores >= t) == same) == 0.75  # the best any threshold can do here


def test_best_threshold_when_every_score_is_the_same() -> None:
    scores = np.full(3, 0.5)
    t = best_threshold(scores, np.array([True, False, True]))
    assert t < 0.5  # accepting all three is right twice; rejecting all, once
    t = best_threshold(scores, np.array([False, False, True]))
    assert t > 0.5


def test_best_threshold_when_every_pair_is_the_same_person() -> None:
    t = best_threshold(np.array([0.2, 0.4, 0.9]), np.array([True, True, True]))
    assert t < 0.2


def test_best_threshold_refuses_an_empty_fold_with_a_clear_error() -> None:
    with pytest.raises(ValueError):
        best_threshold(np.array([]), np.array([], bool))


# -- the LFW protocol, with scores chosen by hand --------------------------------------------
def test_the_threshold_used_on_a_fold_is_chosen_without_that_fold(tmp_path: Path) -> None:
    """Folds 1-2 score {0.2, 0.3} for different pairs and {0.7, 0.8} for same pairs: only 0.5
    gets them all right. Fold 3 is then made hostile: same pairs 0.35, different 0.25, which a
    threshold near 0.3 would get all right. Fold 3 must still be judged at 0.5 (half right);
    a threshold that saw fold 3's pairs (alone or with the others) moves to about 0.3."""
    folds = [([0.8, 0.8], [0.2, 0.2]), ([0.7, 0.7], [0.3, 0.3])]
    photos, pairs, images = pairs_with_scores(tmp_path / "fair", folds + [([0.9, 0.9], [0.1, 0.1])])
    fair = verify_lfw(photos.as_recognizer(), pairs, images)
    photos, pairs, images = pairs_with_scores(tmp_path / "hostile", folds + [([0.35, 0.35], [0.25, 0.25])])
    hostile = verify_lfw(photos.as_recognizer(), pairs, images)

    assert fair["fold_accuracies"] == [1.0, 1.0, 1.0]
    assert fair["thresholds"][2] == pytest.approx(0.5, abs=1e-6)
    assert hostile["thresholds"][2] == fair["thresholds"][2]
    assert hostile["fold_accuracies"][2] == 0.5


def test_a_pair_with_a_missing_photo_is_an_error_never_dropped(tmp_path: Path) -> None:
    """Fold 1: one of four pairs has no second photo (its score would have been right);
    fold 2 complete. Dropping the pair would give 1.0 on fold 1."""
    photos, pairs, images = pairs_with_scores(
        tmp_path, [([0.8, 0.8], [0.2, 0.2]), ([0.8, 0.8], [0.2, 0.2])], missing=(0, 0))
    result = verify_lfw(photos.as_recognizer(), pairs, images)
    assert result["pairs"] == 8 and result["folds"] == 2 and result["images"] == 16
    assert result["missing_images"]["count"] == 1 and result["missing_images"]["pairs_counted_as_errors"] == 1
    assert result["fold_accuracies"] == [0.75, 1.0]
    assert result["accuracy_mean"] == pytest.approx(0.875)
    assert result["accuracy_std"] == pytest.approx(0.125)  # population std of two: half their gap
    assert result["no_face"]["count"] == 0


def test_other_folds_without_a_usable_pair_are_a_clear_error(tmp_path: Path) -> None:
    photos, pairs, images = pairs_with_scores(tmp_path, [([0.8], [0.2]), ([0.8], [0.2])])
    for photo in (images / "S1_0").glob("*_0002.jpg"):
        photo.unlink()
    for photo in (images / "B1_1").glob("*.jpg"):
        photo.unlink()
    with pytest.raises(ValueError):
        verify_lfw(photos.as_recognizer(), pairs, images)


# -- open-set identification, with scores chosen by hand -------------------------------------
def test_open_set_figures_match_the_hand_computed_ones(tmp_path: Path) -> None:
    """Three people enrol one photo each (axes 0-2) and are probed with a second one; four
    strangers. Ann's probe scores 0.905 with Ann, Bob's 0.575 with Bob, Cy's 0.815 with *Ann*
    (and 0.515 with Cy); the strangers' best scores are 0.705, 0.405, 0.305, 0.205."""
    photos, root = GreyPhotos(), tmp_path / "people"
    for axis, name in enumerate(("ann", "bob", "cy")):
        photos.write(root / name / "1.jpg", unit((axis, 1.0)))
    photos.write(root / "ann" / "2.jpg", unit((0, 0.905)))
    photos.write(root / "bob" / "2.jpg", unit((1, 0.575)))
    photos.write(root / "cy" / "2.jpg", unit((0, 0.815), (2, 0.515)))
    for name, best in (("s1", 0.705), ("s2", 0.405), ("s3", 0.305), ("s4", 0.205)):
        photos.write(root / name / "1.jpg", unit((1, best)))

    result = identify_open_set(photos.as_recognizer(), root, enrol=1, threshold=0.5)
    assert (result["enrolled_people"], result["probes"], result["strangers"]) == (3, 3, 4)
    assert result["rank1"] == pytest.approx(2 / 3)
    assert result["dir_at_threshold"] == pytest.approx(2 / 3) and result["far_at_threshold"] == 0.25
    # 1% of four strangers is none: the threshold goes just above the best stranger, 0.705,
    # where only Ann's probe (0.905) is still named
    assert result["threshold_at_far1"] == pytest.approx(0.705, abs=1e-6)
    assert result["far_at_far1_threshold"] == 0.0 and result["dir_at_far1"] == pytest.approx(1 / 3)
    curve = {p["threshold"]: (p["dir"], p["far"]) for p in result["curve"]}
    assert curve[0.30] == pytest.approx((2 / 3, 0.75))
    assert curve[0.40] == pytest.approx((2 / 3, 0.5))
    assert curve[0.55] == pytest.approx((2 / 3, 0.25))
    assert curve[0.60] == pytest.approx((1 / 3, 0.25))  # Bob's 0.575 no longer counts


def test_threshold_at_far_is_just_above_the_strangers_it_must_reject() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    t = threshold_at_far(scores, 0.1)  # one of ten may pass: 0.95; 0.9 must not
    assert 0.9 < t < 0.95 and t == pytest.approx(0.9)
    assert threshold_at_far(scores, 0.0) > 0.95
    assert threshold_at_far(scores, 1.0) == 0.1  # everyone may pass: the lowest score


def test_threshold_at_far_never_splits_tied_strangers() -> None:
    t = threshold_at_far(np.array([0.5, 0.5, 0.3]), 0.34)  # one of three may pass, but two tie
    assert t > 0.5 and t == pytest.approx(0.5)


# -- the real networks on real LFW photos -----------------------------------------------------
def _small_pairs_file(tmp_path: Path, per_fold: int = 5) -> Path:
    """Two folds of the real pairs file, ``per_fold`` same and different pairs each, one image missing."""
    lines = data_path("lfw_dev", "pairs_dev.txt").read_text().splitlines()
    size = int(lines[0].split()[1])
    chosen = []
    for fold in range(2):
        start = 1 + fold * 2 * size
        chosen += lines[start:start + per_fold] + lines[start + size:start + size + per_fold]
    name, first, _ = chosen[0].split()
    chosen[0] = f"{name}\t{first}\t9999"  # a photo the data set does not have
    path = tmp_path / "pairs.txt"
    path.write_text(f"2\t{per_fold}\n" + "\n".join(chosen) + "\n")
    return path


def test_lfw_protocol_on_real_photos(tmp_path: Path, recognizer) -> None:  # noqa: ANN001, F811
    """The first ten pairs of LFW dev folds 1 and 2 are easy for the stock model (it gets every
    pair with both photos right); the pair whose photo is missing is the only error."""
    result = verify_lfw(recognizer, _small_pairs_file(tmp_path), data_path("lfw_dev", "deepfunneled"))
    assert result["folds"] == 2 and result["pairs"] == 20
    assert result["missing_images"]["count"] == 1 and result["missing_images"]["pairs_counted_as_errors"] == 1
    assert result["fold_accuracies"] == [0.9, 1.0]
    assert result["accuracy_std"] == pytest.approx(0.05)
    assert result["no_face"]["count"] == 0

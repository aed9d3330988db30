"""The evaluation protocols behind ``faceattend eval``, on a slice of the real LFW dev data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import data_path
from faceattend.evaluate import identify_open_set, threshold_at_far, verify_lfw
from faceattend.match import DEFAULT_THRESHOLD
from recognition_fixtures import recognizer  # noqa: F401  (fixture)


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


def test_lfw_protocol_counts_a_missing_image_as_an_error(tmp_path: Path, recognizer) -> None:  # noqa: ANN001
    result = verify_lfw(recognizer, _small_pairs_file(tmp_path), data_path("lfw_dev", "deepfunneled"))
    assert result["folds"] == 2 and result["pairs"] == 20
    assert result["missing_images"]["count"] == 1 and result["missing_images"]["pairs_counted_as_errors"] == 1
    first, second = result["fold_accuracies"]
    assert first <= 0.9, "the pair with the missing photo is wrong, never dropped"
    assert second >= 0.9 and result["accuracy_mean"] >= 0.85
    assert result["no_face"]["count"] == 0
    assert result["accuracy_std"] == pytest.approx(np.std([first, second]))


def _people(tmp_path: Path, enrolled: int, strangers: int) -> Path:
    """A folder of identity sub-folders linked to LFW people: some with 4+ photos, some with one."""
    source = data_path("lfw_dev", "deepfunneled")
    root = tmp_path / "people"
    many = one = 0
    for person in sorted(source.iterdir()):
        count = len(list(person.glob("*.jpg")))
        if (count >= 4 and many < enrolled) or (count == 1 and one < strangers):
            many, one = many + (count >= 4), one + (count == 1)
            (root / person.name).mkdir(parents=True)
            for photo in sorted(person.glob("*.jpg"))[:4]:
                (root / person.name / photo.name).symlink_to(photo)
        if many == enrolled and one == strangers:
            return root
    pytest.skip("not enough LFW people with 4+ photos and with one")


def test_open_set_identification_enrols_the_first_photos_and_keeps_strangers_out(
    tmp_path: Path, recognizer,  # noqa: ANN001
) -> None:
    result = identify_open_set(recognizer, _people(tmp_path, 6, 6), enrol=2, threshold=DEFAULT_THRESHOLD)
    assert (result["enrolled_people"], result["probes"], result["strangers"]) == (6, 12, 6)
    assert result["rank1"] >= 11 / 12
    assert result["dir_at_threshold"] <= result["rank1"]
    curve = result["curve"]
    assert [point["threshold"] for point in curve][:2] == [0.30, 0.31] and len(curve) == 31
    fars, dirs = [p["far"] for p in curve], [p["dir"] for p in curve]
    assert fars == sorted(fars, reverse=True) and dirs == sorted(dirs, reverse=True)
    at_default = next(p for p in curve if p["threshold"] == DEFAULT_THRESHOLD)
    assert at_default["far"] == result["far_at_threshold"] and at_default["dir"] == result["dir_at_threshold"]


def test_threshold_at_far_accepts_at_most_that_share_of_strangers() -> None:
    scores = np.linspace(0.0, 0.99, 100)
    threshold = threshold_at_far(scores, 0.01)
    assert np.mean(scores >= threshold) <= 0.01
    assert np.mean(scores >= threshold - 0.011) > 0.01, "the lowest such threshold, not just any"

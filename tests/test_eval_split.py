"""The choose/report split behind the published threshold: disjoint people, and runs that really
keep to the people they are given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceattend.evaluate import (
    identify_open_set,
    lowest_threshold_on_grid,
    open_set_split,
    people_in_folds,
    read_people,
)

from conftest import REPO, data_path
from recognition_fixtures import recognizer  # noqa: F401  (fixture)

SPLITS = REPO / "bench" / "splits"


def test_the_saved_choose_and_report_people_are_disjoint_and_come_from_their_folds() -> None:
    choose, report = read_people(SPLITS / "lfw_choose.txt"), read_people(SPLITS / "lfw_report.txt")
    assert len(choose) > 500 and len(report) > 500
    assert not set(choose) & set(report)
    pairs = data_path("lfw_dev", "pairs_dev.txt")
    assert choose == people_in_folds(pairs, {1, 2})
    assert set(report) == set(people_in_folds(pairs, {3, 4, 5})) - set(choose)
    everyone = {p.name for p in data_path("lfw_dev", "deepfunneled").iterdir() if p.is_dir()}
    assert everyone <= set(choose) | set(report), "every person of the data is on one side"


def test_people_in_folds_reads_both_kinds_of_pair_line(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("2\t1\nAnn\t1\t2\nAnn\t1\tBob\t1\nCid\t1\t2\nDee\t1\tEve\t3\n")
    assert people_in_folds(pairs, {1}) == ["Ann", "Bob"]
    assert people_in_folds(pairs, {2}) == ["Cid", "Dee", "Eve"]
    with pytest.raises(ValueError, match="folds 1-2"):
        people_in_folds(pairs, {3})


def _folder(root: Path, photos: dict[str, int]) -> Path:
    for name, count in photos.items():
        (root / name).mkdir(parents=True)
        for k in range(count):
            (root / name / f"{name}_{k + 1:04d}.jpg").write_bytes(b"")
    return root


def test_open_set_split_keeps_only_the_given_people(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"Ann": 4, "Bob": 3, "Cid": 1, "Dee": 1, "Eve": 2})
    everyone = open_set_split(root, 2)
    assert everyone.names == ["Ann", "Bob"] and len(everyone.strangers) == 2
    some = open_set_split(root, 2, ["Bob", "Dee", "Eve", "Zed"])
    assert some.names == ["Bob"]
    assert [p.parent.name for _, p in some.gallery + some.probes] == ["Bob"] * 3
    assert [p.parent.name for p in some.strangers] == ["Dee"]
    assert some.paths == [p for _, p in some.gallery] + [p for _, p in some.probes] + some.strangers
    with pytest.raises(ValueError, match="exactly one"):
        open_set_split(root, 2, ["Ann", "Bob"])


def test_identify_open_set_embeds_only_the_given_people(tmp_path: Path, recognizer) -> None:  # noqa: ANN001
    source = data_path("lfw_dev", "deepfunneled")
    chosen = {"many": [], "one": []}
    for person in sorted(source.iterdir()):
        count = len(list(person.glob("*.jpg")))
        kind = "many" if count >= 4 else "one" if count == 1 else None
        if kind and len(chosen[kind]) < 4:
            chosen[kind].append(person)
    root = tmp_path / "people"
    for person in chosen["many"] + chosen["one"]:
        (root / person.name).mkdir(parents=True)
        for photo in sorted(person.glob("*.jpg"))[:4]:
            (root / person.name / photo.name).symlink_to(photo)
    keep = [p.name for p in chosen["many"][:2] + chosen["one"][:3]]
    result = identify_open_set(recognizer, root, enrol=2, threshold=0.47, people=keep)
    assert (result["enrolled_people"], result["probes"], result["strangers"]) == (2, 4, 3)
    assert result["people_restricted"] is True
    assert result["rank1"] == 1.0


def test_lowest_threshold_on_grid_is_the_published_rule() -> None:
    strangers = np.r_[np.linspace(0.0, 0.40, 989), 0.461, 0.47, 0.48, 0.5, 0.52, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95]
    # 1,000 strangers: 10 (1%) score 0.47 or more, 11 score 0.46 or more.
    t = lowest_threshold_on_grid(strangers)
    assert t == 0.47
    assert np.mean(strangers >= t) <= 0.01 < np.mean(strangers >= t - 0.01)
    # The boundary itself: a stranger scoring exactly the grid value is accepted.
    assert lowest_threshold_on_grid(np.r_[np.zeros(98), 0.5, 0.5]) == 0.51


def _unit(rows: list[list[float]]) -> np.ndarray:
    matrix = np.array(rows, np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_closest_different_pair_is_measured_on_held_out_samples_only() -> None:
    from faceattend.train.metrics import evaluate

    names = {0: "Ann", 1: "Bob"}
    # The training samples of Ann and Bob are nearly the same face; their held-out ones are not.
    gallery = _unit([[1, 0, 0], [1, 0.01, 0]])
    probes = _unit([[1, 0.3, 0], [0.2, 1, 0]])
    result = evaluate(gallery, np.array([0, 1]), probes, np.array([0, 1]), np.zeros((0, 3), np.float32),
                      names, threshold=0.47)
    held_out = float(probes[0] @ probes[1])
    assert result.closest_pair == pytest.approx(held_out) and result.closest_names == ("Ann", "Bob")
    assert result.gap == pytest.approx(0.47 - held_out)

    only_ann = evaluate(gallery, np.array([0, 1]), probes[:1], np.array([0]), np.zeros((0, 3), np.float32),
                        names, threshold=0.47)
    assert np.isnan(only_ann.closest_pair) and np.isnan(only_ann.gap), "one person held out: no pair to measure"
    assert dict(only_ann.as_rows())["gap to threshold"] == "n/a"

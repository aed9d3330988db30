"""The whole pipeline on real photos: same person matches, others and strangers do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceattend.enrol import enrol_photos, folder_plan
from faceattend.images import load_image
from faceattend.match import DEFAULT_THRESHOLD
from faceattend.pipeline import FaceCountError, Recognizer
from faceattend.store import Store

from conftest import data_path
from recognition_fixtures import recognizer  # noqa: F401  (session fixture)


def embedding_of(recognizer: Recognizer, path: Path) -> np.ndarray:
    return recognizer.single_face(load_image(path), str(path)).embedding


def test_obama_portraits_match_each_other_and_not_biden(recognizer: Recognizer) -> None:
    obama = sorted(data_path("portraits", "obama").glob("*.jpg"))
    assert len(obama) == 3
    biden = embedding_of(recognizer, data_path("portraits", "biden", "biden.jpg"))
    vectors = [embedding_of(recognizer, p) for p in obama]
    for i in range(3):
        assert np.linalg.norm(vectors[i]) == pytest.approx(1.0, abs=1e-4)
        assert float(vectors[i] @ biden) < DEFAULT_THRESHOLD
        for j in range(i + 1, 3):
            assert float(vectors[i] @ vectors[j]) > DEFAULT_THRESHOLD + 0.1


def test_enrol_then_identify_round_trips_through_sqlite(recognizer: Recognizer, tmp_path: Path) -> None:
    obama = sorted(data_path("portraits", "obama").glob("*.jpg"))
    db = tmp_path / "people.db"
    with Store(db) as store:
        report = enrol_photos(store, recognizer, "Barack Obama", obama[:2])
        assert report.added and not report.refused
    with Store(db) as store:  # a fresh connection: it came from the file
        recognizer.gallery = store.gallery(recognizer.model_name)
        try:
            faces = recognizer.faces(load_image(obama[2]))
            assert [f.match.label for f in faces] == ["Barack Obama"]
            stranger = recognizer.faces(load_image(data_path("portraits", "biden", "biden.jpg")))
            assert [f.match.label for f in stranger] == ["Unknown"]
        finally:
            recognizer.gallery = store.gallery("no-such-model")


def test_enrolment_refuses_no_face_and_several_faces(recognizer: Recognizer, tmp_path: Path) -> None:
    blank = tmp_path / "wall.png"
    import cv2

    cv2.imwrite(str(blank), np.full((240, 320, 3), 180, np.uint8))
    with pytest.raises(FaceCountError, match="no face"):
        recognizer.single_face(load_image(blank), "wall.png")
    group = sorted(data_path("bbt", "_group").glob("*"))[0]
    with pytest.raises(FaceCountError, match="faces found"):
        recognizer.single_face(load_image(group), group.name)
    with Store(tmp_path / "x.db") as store:
        report = enrol_photos(store, recognizer, "Nobody", [blank, group])
        assert report.person_id == -1 and len(report.refused) == 2
        assert store.people() == []  # no empty person left behind


def test_folder_plan_reads_subfolders_and_prefixed_files(tmp_path: Path) -> None:
    (tmp_path / "Ada_Lovelace").mkdir()
    (tmp_path / "Ada_Lovelace" / "1.jpg").write_bytes(b"x")
    (tmp_path / "grace_01.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    plan = folder_plan(tmp_path)
    assert sorted(plan) == ["Ada Lovelace", "grace"]

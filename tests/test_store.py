"""The SQLite store on a real file: people, samples, attendance rules, corruption, full disk."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from faceattend.store import CHECK_IN, CHECK_OUT, Store, StoreError, attendance
from faceattend.store.export import neutralise, write_csv


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


CROP = np.zeros((112, 112, 3), np.uint8)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "att.db") as s:
        yield s


def test_names_are_trimmed_unique_and_not_empty(store: Store) -> None:
    pid = store.add_person("  Ada   Lovelace ")
    assert store.person(pid).name == "Ada Lovelace"
    with pytest.raises(StoreError, match="already taken"):
        store.add_person("ada lovelace")
    with pytest.raises(StoreError, match="empty"):
        store.add_person("   ")
    other = store.add_person("Grace")
    with pytest.raises(StoreError, match="already taken"):
        store.rename_person(other, "ADA LOVELACE")


def test_gallery_round_trips_embeddings_and_crops_through_the_file(tmp_path: Path) -> None:
    crop = np.random.default_rng(0).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    with Store(tmp_path / "g.db") as s:
        pid = s.add_person("Ada")
        sid = s.add_sample(pid, unit(1), "model-a", crop, 0.99, "ada.jpg")
        s.add_sample(pid, unit(2), "model-b", crop, 0.9, "ada2.jpg")
    with Store(tmp_path / "g.db") as s:  # reopened: everything was committed
        gallery = s.gallery("model-a")
        assert len(gallery) == 1  # samples of another model never mix in
        match = gallery.match(unit(1)[None], threshold=0.5)[0]
        assert match.name == "Ada" and match.similarity == pytest.approx(1.0, abs=1e-6)
        assert np.array_equal(s.sample_crop(sid), crop)
        assert s.sample_models() == {"model-a": 1, "model-b": 1}


def test_removing_a_person_erases_samples_and_the_content_of_their_attendance(store: Store) -> None:
    pid = store.add_person("Ada")
    store.add_sample(pid, unit(1), "m", CROP, 1.0, "x")
    attendance.record(store, pid)
    store.remove_person(pid)  # = erase: a privacy request (archive keeps the attendance)
    assert store.samples() == [] and store.people() == []
    kept = store.db.execute("SELECT person_id, time, kind, erased FROM attendance").fetchall()
    assert kept == [(None, None, None, 1)]  # only its place in the hash chain is left


@pytest.mark.parametrize("first, second", [
    ("José", "JOSÉ"), ("José", "Jose\u0301"), ("Zoë", "ZOE"), ("Straße", "STRASSE"),
    ("ｊｏｈｎ　ｓｍｉｔｈ", "John Smith"), ("Ǆemal", "džemal"),
])
def test_names_that_look_the_same_are_the_same_person(store: Store, first: str, second: str) -> None:
    pid = store.add_person(first)
    assert store.find_person(second).id == pid
    with pytest.raises(StoreError, match="already taken"):
        store.add_person(second)


def test_names_in_other_scripts_keep_their_marks(store: Store) -> None:
    """Hindi vowel signs are combining marks that tell names apart: they are not dropped."""
    store.add_person("\u0915\u093f\u0930\u0923")  # Kiran
    store.add_person("\u0915\u0930\u0923")  # Karan
    assert len(store.people()) == 2


def test_names_have_a_length_limit_and_no_control_characters(store: Store) -> None:
    with pytest.raises(StoreError, match="at most 100"):
        store.add_person("x" * 100_000)
    with pytest.raises(StoreError, match="control or invisible"):
        store.add_person("Ada\u200bLovelace")
    assert store.people() == []
    store.add_person("y" * 100)


def test_cooldown_stops_duplicates_but_allows_check_out(store: Store) -> None:
    pid = store.add_person("Ada")
    cooldown = timedelta(minutes=10)
    assert attendance.record(store, pid, CHECK_IN, cooldown=cooldown) is not None
    assert attendance.record(store, pid, CHECK_IN, cooldown=cooldown) is None
    assert attendance.record(store, pid, CHECK_OUT, cooldown=cooldown) is not None
    rows = attendance.summary(store, date.today(), date.today())
    assert [(r.name, r.status) for r in rows] == [("Ada", "left")]
    assert rows[0].first_check_in is not None and rows[0].last_check_out is not None


def test_check_in_is_on_disk_before_record_returns(tmp_path: Path) -> None:
    s = Store(tmp_path / "crash.db")
    pid = s.add_person("Ada")
    attendance.record(s, pid)
    # A second connection (another process after a crash) sees it without s being closed.
    other = sqlite3.connect(tmp_path / "crash.db")
    assert other.execute("SELECT COUNT(*) FROM attendance").fetchone()[0] == 1


def test_removal_needs_a_reason_and_keeps_an_audit_trail(store: Store) -> None:
    pid = store.add_person("Ada")
    event = attendance.record(store, pid, source="manual", note="arrived by bus")
    with pytest.raises(StoreError, match="reason"):
        attendance.remove_event(store, event.id, " ")
    attendance.remove_event(store, event.id, "wrong person")
    start, end = attendance.local_day_bounds(date.today())
    assert attendance.events(store, start, end) == []
    kept = attendance.events(store, start, end, include_removed=True)
    assert kept[0].removed_reason == "wrong person"
    assert attendance.summary(store, date.today(), date.today())[0].status == "absent"


def test_corrupt_database_gives_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged"):
        Store(bad)


def test_full_database_keeps_what_was_recorded(tmp_path: Path) -> None:
    s = Store(tmp_path / "full.db")
    pid = s.add_person("Ada")
    attendance.record(s, pid)
    pages = s.db.execute("PRAGMA page_count").fetchone()[0]
    s.db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own "disk full" condition
    big = np.random.default_rng(0).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    with pytest.raises(StoreError, match="disk is full"):
        for i in range(50):
            s.add_sample(pid, unit(i), "m", big, 1.0, f"{i}.jpg")
    assert s.db.execute("SELECT COUNT(*) FROM attendance").fetchone()[0] == 1


def test_csv_export_neutralises_formulas_and_reads_back(store: Store, tmp_path: Path) -> None:
    for name in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM", "Zoë"]:
        pid = store.add_person(name, external_id="=1+1")
        attendance.record(store, pid)
    out = tmp_path / "out.csv"
    assert write_csv(attendance.summary(store, date.today(), date.today()), out) == 5
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == ["'+1", "'-2", "'=HYPERLINK(\"x\")", "'@SUM", "Zoë"]
    assert all(r["external_id"] == "'=1+1" and r["status"] == "present" for r in rows)
    assert neutralise("plain") == "plain"


def test_csv_export_to_an_unwritable_place_fails_cleanly(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot write"):
        write_csv([], tmp_path / "missing-folder" / "out.csv")


def test_people_enrolled_later_are_not_absent_earlier(store: Store) -> None:
    store.add_person("New")
    yesterday = date.today() - timedelta(days=1)
    assert attendance.summary(store, yesterday, yesterday) == []
    with pytest.raises(StoreError):
        attendance.summary(store, date.today(), yesterday)

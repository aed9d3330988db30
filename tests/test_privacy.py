"""Per-person export (real photo, real CLI) and the retention setting, on real SQLite files."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from faceattend import privacy
from faceattend.images import decode_png
from faceattend.store import CHECK_IN, CHECK_OUT, Store, StoreError, attendance, audit
from faceattend.store.backup import daily_backup, list_backups
from faceattend.store.verify import verify_file

from conftest import data_path


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faceattend", "--db", str(db), *args],
                          capture_output=True, text=True, env=dict(os.environ), timeout=300)


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def add_fake(store: Store, name: str, seed: int = 0) -> tuple[int, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    crop = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    vector = rng.standard_normal(128).astype(np.float32)
    pid = store.add_person(name)
    store.add_sample(pid, vector, "sface-2021dec", crop, 0.99, "test")
    return pid, crop, vector


def test_people_export_writes_everything_about_one_person(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    db, out = folder / "a.db", tmp_path / "out"
    out.mkdir()
    photo = data_path("portraits", "obama", "obama.jpg")
    done = run_cli("enroll", "Barack Obama", str(photo), db=db)
    assert done.returncode == 0, done.stderr
    with Store(db) as store:
        pid = store.find_person("Barack Obama").id
        other, *_ = add_fake(store, "Someone Else")
        first = attendance.record(store, pid, CHECK_IN, source="manual", note="=cmd|' /C calc'!A0",
                                  at=datetime.now(UTC) - timedelta(hours=3))
        attendance.record(store, pid, CHECK_OUT)
        attendance.record(store, other, CHECK_IN)
        attendance.remove_event(store, first.id, "wrong person")
        stored = {s.id: s for s in store.samples(person_id=pid)}
        crops = {sid: store.sample_crop(sid) for sid in stored}
    done = run_cli("people", "export", "barack obama", "--to", str(out), db=db)
    assert done.returncode == 0, done.stderr
    (target,) = out.iterdir()
    assert target.name.startswith("faceattend-Barack_Obama-") and str(target) in done.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert {p.name for p in target.iterdir()} == {"person.json", "samples", "embeddings.json", "attendance.csv",
                                                   "audit.json", "README.txt"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in target.rglob("*") if p.is_file())
    assert json.loads((target / "person.json").read_text())["name"] == "Barack Obama"
    embeddings = json.loads((target / "embeddings.json").read_text())
    assert {e["sample"] for e in embeddings} == set(stored)
    for entry in embeddings:
        sample = stored[entry["sample"]]
        assert entry["model"] == sample.model and entry["dim"] == 128
        assert np.allclose(entry["embedding"], sample.embedding, atol=1e-6)
        image = decode_png((target / entry["image"]).read_bytes())
        assert np.array_equal(image, crops[entry["sample"]]), "the stored face, bit for bit"
    with open(target / "attendance.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["kind"] for r in rows] == [CHECK_IN, CHECK_OUT], "only this person's, removed ones too"
    assert rows[0]["removed_reason"] == "wrong person" and rows[0]["note"].startswith("'="), "CSV-safe"
    actions = [e["action"] for e in json.loads((target / "audit.json").read_text())]
    assert actions[:2] == ["enrol", "sample-add"] and "record-remove" in actions
    with Store(db) as store:
        (logged,) = audit.events(store, action="export")
        assert logged.person_id == pid and logged.detail["folder"] == str(target)
        assert logged.actor.startswith("cli:")
    again = run_cli("people", "export", "Barack Obama", "--to", str(out), db=db)
    assert again.returncode == 0 and len(list(out.iterdir())) == 2, "an earlier export is never overwritten"


def test_export_to_a_missing_folder_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        pid, *_ = add_fake(store, "Ada")
        with pytest.raises(StoreError, match="is not a folder"):
            privacy.export_person(store, pid, tmp_path / "nowhere")
        blocked = tmp_path / "ro"
        blocked.mkdir()
        blocked.chmod(0o500)
        try:
            if os.geteuid() != 0:  # root writes anyway
                with pytest.raises(StoreError, match="cannot export"):
                    privacy.export_person(store, pid, blocked)
                assert list(blocked.iterdir()) == []
        finally:
            blocked.chmod(0o700)
        assert audit.events(store, action="export") == []


def test_months_before_handles_month_ends() -> None:
    moment = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert privacy.months_before(moment, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert privacy.months_before(moment, 13) == datetime(2025, 2, 28, 12, tzinfo=UTC)
    assert privacy.months_before(moment, 24) == datetime(2024, 3, 31, 12, tzinfo=UTC)


def test_retention_deletes_records_older_than_n_months_and_keeps_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    now = datetime.now(UTC)
    with Store(db) as store:
        pid, *_ = add_fake(store, "Ada Lovelace")
        old = attendance.record(store, pid, CHECK_IN, source="manual", note="typed in", at=now - timedelta(days=420))
        recent = attendance.record(store, pid, CHECK_IN, source="manual", note="typed in", at=now - timedelta(days=20))
        daily_backup(store)
        report = privacy.apply_retention(store, 12, False)
        assert report.records == 1 and report.crops == 0 and report.audit_events == 0
        kept = attendance.events(store, now - timedelta(days=3650), now, include_removed=True)
        assert [e.id for e in kept] == [recent.id] and old.id != recent.id
        (logged,) = audit.events(store, action="retention")
        assert logged.detail["records"] == 1 and logged.detail["months"] == 12
        assert privacy.apply_retention(store, 12, False).records == 0, "nothing twice"
    assert verify_file(db).ok, verify_file(db).problems
    (backup,) = list_backups(db)
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT id FROM attendance WHERE erased = 0").fetchall() == [(recent.id,)]


def test_retention_leaves_no_trace_in_any_file(tmp_path: Path) -> None:
    """Run as if 13 months from now: today's records, their removal and the audit trail are old."""
    db = tmp_path / "a.db"
    with Store(db) as store:
        pid, *_ = add_fake(store, "Grace Hopper")
        first = attendance.record(store, pid, CHECK_IN, note="OLDNOTE-1834")
        attendance.remove_event(store, first.id, "OLDREASON-1834")
        attendance.record(store, pid, CHECK_OUT, note="OLDNOTE-1835")
        daily_backup(store)
        assert privacy.apply_retention(store, 0, False, always_log=True).records == 0, "0 keeps everything"
        before = len(audit.events(store))
        other = Store(db)  # the window's connection stays open meanwhile
        later = datetime.now(UTC) + timedelta(days=400)
        report = privacy.apply_retention(store, 12, False, now=later)
        other.close()
        assert report.records == 2 and report.audit_events == before and report.wal_emptied
        assert [e.action for e in audit.events(store) if not e.erased] == ["retention"]
        with pytest.raises(StoreError, match="whole number of months"):
            privacy.apply_retention(store, -1, False)
    assert verify_file(db).ok, verify_file(db).problems
    for needle in (b"OLDNOTE-1834", b"OLDNOTE-1835", b"OLDREASON-1834"):
        assert files_holding(tmp_path, needle) == [], needle


def test_retention_can_drop_face_crops_and_keep_embeddings(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with Store(db) as store:
        pid, crop, vector = add_fake(store, "Ada", seed=7)
        (sample,) = store.samples(person_id=pid)
        png = store.db.execute("SELECT crop FROM samples WHERE id = ?", [sample.id]).fetchone()[0]
        daily_backup(store)
        report = privacy.apply_retention(store, 0, True)
        assert report.crops == 1 and store.sample_crop_or_none(sample.id) is None
        assert np.array_equal(store.samples(person_id=pid)[0].embedding, sample.embedding)
        assert store.gallery("sface-2021dec").people_count == 1, "still recognised"
    assert files_holding(tmp_path, bytes(png)[40:200]) == [], "the crop is gone from every file, backups too"


def test_cli_retention_apply(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    db = folder / "a.db"
    with Store(db) as store:
        pid, *_ = add_fake(store, "Ada")
        attendance.record(store, pid, CHECK_IN, source="manual", note="x",
                          at=datetime.now(UTC) - timedelta(days=100))
    done = run_cli("retention", "apply", "--months", "2", db=db)
    assert done.returncode == 0 and "deleted 1 attendance record(s)" in done.stdout, done.stderr
    bad = run_cli("retention", "apply", "--months", "-3", db=db)
    assert bad.returncode == 2 and "0 to 1200" in bad.stderr


def test_switching_models_after_crops_were_dropped_says_why_and_changes_nothing(tmp_path: Path) -> None:
    """Samples without a face image cannot be re-embedded: the switch is refused, not half done."""
    from faceattend.config import Settings
    from faceattend.train.versions import activate

    with Store(tmp_path / "drop.db") as store:
        add_fake(store, "Ada", seed=3)
        privacy.apply_retention(store, months=0, drop_crops=True)
        before = store.samples()[0].embedding.copy()
        with pytest.raises(StoreError, match="no face image"):
            activate(store, Settings(device="cpu"), "stock")
        assert np.array_equal(store.samples()[0].embedding, before)

"""Refusing what cannot be used safely: newer schemas, damaged files, read-only folders, full
disks; daily backups and restore; upgrading a database written by the previous version."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from faceattend.store import Store, StoreError, attendance
from faceattend.store.backup import daily_backup, list_backups
from faceattend.store.verify import verify_file

from records_fixtures import run_cli, unit

OLD_DB = Path(__file__).with_name("records_data") / "store_m001.db"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _school(db: Path, people: int = 3, samples: int = 4) -> None:
    with Store(db) as store:
        for n in range(people):
            pid = store.add_person(f"Pupil {n}")
            crop = np.random.default_rng(n).integers(0, 255, (112, 112, 3), dtype=np.uint8)
            for s in range(samples):
                store.add_sample(pid, unit(n * 10 + s), "m", crop, 0.9, f"{n}-{s}.jpg")
            attendance.record(store, pid)


def test_a_database_from_a_newer_version_opens_read_only(tmp_path: Path) -> None:
    db = tmp_path / "newer.db"
    _school(db)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('faceattend', 'm099_from_the_future', '2027-01-01')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _sha(db)
    with Store(db) as store:
        assert "newer version" in store.read_only
        assert len(store.people()) == 3 and attendance.summary(store, date.today(), date.today())
        with pytest.raises(StoreError, match="writes are off"):
            store.add_person("New Pupil")
        with pytest.raises(StoreError, match="writes are off"):
            attendance.record(store, 1)
    listed = run_cli("people", db=db)
    assert listed.returncode == 0 and "Pupil 2" in listed.stdout and "writes are off" in listed.stderr
    renamed = run_cli("people", "rename", "Pupil 1", "Someone", db=db)
    assert renamed.returncode == 1 and "writes are off" in renamed.stderr and "Traceback" not in renamed.stderr
    out = tmp_path / "day.csv"
    assert run_cli("export", "--csv", str(out), db=db).returncode == 0 and out.is_file()
    assert _sha(db) == before


def _corrupt_a_page(db: Path) -> None:
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'samples'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(os.urandom(size))


def test_a_damaged_file_is_refused_with_the_restore_path_and_restore_brings_it_back(tmp_path: Path) -> None:
    db = tmp_path / "school.db"
    _school(db)
    with Store(db):  # the first open of the day with people: today's backup
        pass
    assert len(list_backups(db)) == 1
    _corrupt_a_page(db)
    with pytest.raises(StoreError, match="damaged.*faceattend restore"):
        Store(db)
    for args in (["people"], ["export", "--csv", str(tmp_path / "x.csv")]):
        done = run_cli(*args, db=db)
        assert done.returncode == 1 and "faceattend restore" in done.stderr and "Traceback" not in done.stderr
    checked = run_cli("verify", db=db)
    assert checked.returncode == 1 and "PROBLEM: database file" in checked.stdout
    restored = run_cli("restore", db=db)
    assert restored.returncode == 0, restored.stderr
    assert run_cli("verify", db=db).returncode == 0
    listed = run_cli("people", db=db)
    assert listed.returncode == 0 and listed.stdout.count("Pupil") == 3
    assert list(tmp_path.glob("school.db.replaced-*")), "the damaged file is kept aside, not deleted"


def test_backups_are_daily_counted_and_private(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    _school(db, people=1, samples=1)
    with Store(db) as store:
        for day in range(1, 11):
            daily_backup(store, today=date(2026, 11, day), keep=7)
        assert daily_backup(store, today=date(2026, 11, 10)) is None  # once a day
    found = list_backups(db)
    made = sorted({f"2026-11-{d:02d}" for d in range(1, 11)} | {date.today().isoformat()})
    assert [p.name[-13:-3] for p in found] == made[-7:]  # the newest 7 are kept
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in found)
    copy = sqlite3.connect(found[-1])
    assert copy.execute("SELECT name FROM people").fetchall() == [("Pupil 0",)]
    copy.close()


def _namespace_or_chmod() -> bool:
    """True when the test can use a private mount namespace (root); else it relies on chmod."""
    if os.geteuid() != 0:
        return False
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("running as root without mount namespaces: cannot make a folder read-only or a disk full")
    return True


def _cli_in(setup: str, *args: str, db: Path) -> subprocess.CompletedProcess:
    """The CLI in a private mount namespace after ``setup`` (shell) has run there."""
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "faceattend", "--db", str(db), *args])
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", f"{setup} && {command}"],
                          capture_output=True, text=True, timeout=120)


def test_a_read_only_folder_still_lists_and_exports(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    db = folder / "faceattend.db"
    _school(db)
    out = tmp_path / "out.csv"
    if _namespace_or_chmod():
        setup = f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}'"
        listed = _cli_in(setup, "people", db=db)
        exported = _cli_in(setup, "export", "--csv", str(out), db=db)
        enrolled = _cli_in(setup, "people", "rename", "Pupil 0", "Pupil Zero", db=db)
    else:
        folder.chmod(0o500)
        db.chmod(0o400)
        try:
            listed, exported = run_cli("people", db=db), run_cli("export", "--csv", str(out), db=db)
            enrolled = run_cli("people", "rename", "Pupil 0", "Pupil Zero", db=db)
        finally:
            folder.chmod(0o700)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("Pupil") == 3 and "writes are off" in listed.stderr and "read-only" in listed.stderr
    assert exported.returncode == 0, exported.stderr
    with open(out, encoding="utf-8-sig") as handle:
        assert len(list(csv.DictReader(handle))) == 3
    assert enrolled.returncode == 1 and "writes are off" in enrolled.stderr


def test_a_full_disk_still_lists_and_exports(tmp_path: Path) -> None:
    if not _namespace_or_chmod():
        pytest.skip("filling a disk needs a private tmpfs (root in a mount namespace)")
    source = tmp_path / "made"
    _school(source / "faceattend.db")
    folder = tmp_path / "full"
    folder.mkdir()
    db = folder / "faceattend.db"
    out = tmp_path / "out.csv"
    setup = (f"mount -t tmpfs -o size=1m,mode=700 tmpfs '{folder}' && cp '{source}/faceattend.db' '{folder}/' && "
             f"(dd if=/dev/zero of='{folder}/filler' bs=4k 2>/dev/null; true) && df '{folder}' | tail -1")
    listed = _cli_in(setup, "people", db=db)
    assert listed.returncode == 0, listed.stderr
    assert " 100% " in listed.stdout and listed.stdout.count("Pupil") == 3
    assert "writes are off" in listed.stderr and "full" in listed.stderr
    exported = _cli_in(setup, "export", "--csv", str(out), db=db)
    assert exported.returncode == 0, exported.stderr


def test_a_database_from_the_previous_version_is_upgraded_without_loss(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    shutil.copy(OLD_DB, db)
    old = sqlite3.connect(db)
    before = old.execute("SELECT id, person_id, time, kind, removed_reason FROM attendance ORDER BY id").fetchall()
    samples = old.execute("SELECT id, embedding, crop FROM samples ORDER BY id").fetchall()
    old.close()
    with Store(db) as store:
        after = store.db.execute("SELECT id, person_id, time, kind, removed_reason FROM attendance "
                                 "ORDER BY id").fetchall()
        assert after == before and len(after) == 24
        assert store.db.execute("SELECT id, embedding, crop FROM samples ORDER BY id").fetchall() == samples
        assert [p.name for p in store.people()] == ["Ada Lovelace", "Grace Hopper", "José Martí", "JOSÉ MARTÍ"]
        assert store.find_person("jose marti").name == "José Martí"
        events = [e for e in store.db.execute("SELECT action, subject FROM audit")]
        assert events == [("migrate", "JOSÉ MARTÍ"),  # told to rename one of the two
                          ("record-remove", "Ada Lovelace")]  # the removal made before, kept as an event
        pid = store.find_person("Ada Lovelace").id
        attendance.record(store, pid)
    assert verify_file(db).ok, verify_file(db).problems

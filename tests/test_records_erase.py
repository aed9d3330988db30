"""Removing people: archive or erase, never by accident, and erased faces really gone.

Each erasure test searches every file in the data folder (database, -wal, -shm, backups,
models) for the person's name, crop bytes and embedding bytes, with another connection open
the way the window keeps one, and once more with SQLite's secure_delete default forced off.
"""

from __future__ import annotations

import sqlite3
import stat
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from faceattend.images import encode_png
from faceattend.store import Store, StoreError, attendance
from faceattend.store.erase import archive_person, erase_person
from faceattend.store.verify import verify_file

from conftest import data_path
from records_fixtures import files_holding, run_cli, unit

NAME = "Zoë Wanamaker"


def _crop(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (112, 112, 3), dtype=np.uint8)


def _enrol_with_history(db: Path) -> tuple[int, dict[str, bytes]]:
    """A person with samples, records, a removed record and a backup; returns what to look for."""
    needles = {"name": NAME.encode("utf-8"), "name (folded)": b"wanamaker"}
    with Store(db) as store:
        pid = store.add_person(NAME, external_id="S-4711", group="7B")
        store.add_person("Ben Okri")
        for seed in range(3):
            store.add_sample(pid, unit(seed), "m", _crop(seed), 0.99, f"zoe{seed}.jpg")
            png = encode_png(_crop(seed))
            needles[f"crop {seed}"] = png[len(png) // 2:len(png) // 2 + 48]
            needles[f"embedding {seed}"] = np.asarray(unit(seed), "<f4").tobytes()[:64]
        first = attendance.record(store, pid, note="camera")
        attendance.record(store, pid, attendance.CHECK_OUT)
        attendance.remove_event(store, first.id, "Zoë was not in today")
    with Store(db):  # first open of the day with people in it: makes today's backup
        pass
    assert list((db.parent / "backups").glob("*.db")), "the daily backup was not made"
    return pid, needles


@pytest.fixture(params=["default", "secure_delete off by default"])
def secure_default(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Emulate an SQLite built without SECURE_DELETE: every new connection starts with it off."""
    if request.param != "default":
        real = sqlite3.connect

        def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
            conn = real(*args, **kwargs)
            conn.execute("PRAGMA secure_delete=OFF")
            return conn

        monkeypatch.setattr(sqlite3, "connect", connect)
    return request.param


def test_erase_with_another_connection_open_leaves_nothing_in_any_file(tmp_path: Path, secure_default: str) -> None:
    data = tmp_path / "data"
    db = data / "faceattend.db"
    window = Store(db)  # the window's connection, open the whole time: the WAL is never reset
    pid, needles = _enrol_with_history(db)
    assert any(hit.startswith("faceattend.db-wal: crop") for hit in files_holding(data, needles))
    assert {p.name for p in window.people()} == {NAME, "Ben Okri"}
    with Store(db) as store:
        report = erase_person(store, pid)
    assert report.wal_emptied and (report.samples, report.records) == (3, 2)
    assert files_holding(data, needles) == []
    assert [p.name for p in window.people()] == ["Ben Okri"]  # the open connection goes on working
    window.close()
    assert files_holding(data, needles) == []
    assert verify_file(db).ok, verify_file(db).problems  # erased records keep their place in the chain
    with Store(db) as store:
        trace = [e for e in store.db.execute("SELECT action, subject, detail FROM audit WHERE erased = 0")]
        assert trace[-1][:2] == ("erase", None) and '"samples": 3' in trace[-1][2]


def test_the_search_finds_what_a_plain_delete_leaves(tmp_path: Path) -> None:
    """The control: without secure_delete and a truncating checkpoint, the crop bytes stay on disk."""
    data = tmp_path / "data"
    db = data / "faceattend.db"
    pid, needles = _enrol_with_history(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA secure_delete=OFF")
    with conn:
        conn.execute("DELETE FROM samples WHERE person_id = ?", [pid])
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    conn.close()
    (data / "backups").rename(tmp_path / "moved-backups")  # only the live database counts here
    assert any("crop" in hit for hit in files_holding(data, needles))


def test_archive_erases_faces_and_keeps_attendance_under_the_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = data / "faceattend.db"
    pid, needles = _enrol_with_history(db)
    with Store(db) as store:
        report = archive_person(store, pid)
        assert report.samples == 3 and report.wal_emptied
        assert pid not in store.gallery("m").person_ids  # no longer recognised
        assert store.samples(person_id=pid) == []
        person = store.find_person("zoe wanamaker")
        assert person is not None and person.archived and person.sample_count == 0
        rows = [r for r in attendance.summary(store, date.today(), date.today()) if r.person_id == pid]
        assert [(r.name, r.status) for r in rows] == [(NAME, "left")]
        with pytest.raises(StoreError, match="archived"):
            attendance.record(store, pid)
        with pytest.raises(StoreError, match="archived"):
            store.add_person("ZOE WANAMAKER")
    face_bytes = {k: v for k, v in needles.items() if not k.startswith("name")}
    assert files_holding(data, face_bytes) == []
    assert verify_file(db).ok


def test_a_person_with_records_cannot_be_deleted_by_a_cascade(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        pid = store.add_person("Ada")
        attendance.record(store, pid)
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            with store.db.conn:
                store.db.execute("DELETE FROM people WHERE id = ?", [pid])
        assert store.db.execute("SELECT COUNT(*) FROM attendance").fetchone()[0] == 1


def test_data_folder_and_files_are_private(tmp_path: Path, user_dirs: Path) -> None:
    user_dirs.chmod(0o755)
    from faceattend.paths import data_dir

    folder = data_dir()
    db = folder / "faceattend.db"
    with Store(db) as store:
        store.add_person("Ada")
        attendance.record(store, 1)
        with Store(db):
            pass
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), *(folder / "backups").glob("*.db")]
        assert len(files) == 4
        assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {"0o600"}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "backups").stat().st_mode) == 0o700


def test_cli_erase_retires_the_model_trained_on_the_face(tmp_path: Path) -> None:
    """The real CLI: enrol from a photo, a fine-tuned model trained on them in use, erase."""
    import json

    import torch

    from faceattend.config import Settings
    from faceattend.embed.mobilenet import MobileFaceNet, load_sface
    from faceattend.train import versions

    photo = data_path("portraits", "obama", "obama.jpg")
    data = tmp_path / "data"
    db = data / "faceattend.db"
    assert run_cli("enroll", "Barack Obama", str(photo), db=db).returncode == 0
    assert run_cli("enroll", "Joe Biden", str(data_path("portraits", "biden", "biden.jpg")), db=db).returncode == 0
    settings = Settings(database=str(db))
    models = data / "models"
    models.mkdir()
    net = MobileFaceNet()
    load_sface(net)
    torch.save(net.state_dict(), models / "ft-20261203-090000.pt")
    (models / "ft-20261203-090000.json").write_text(json.dumps({"people": ["Barack Obama", "Joe Biden"]}))
    with Store(db) as store:
        versions.activate(store, settings, "ft-20261203-090000")
        crops = [store.db.execute("SELECT crop, embedding FROM samples WHERE person_id = 1").fetchone()]
    needles = {"name": b"Barack Obama", "crop": crops[0][0][500:548], "embedding": crops[0][1][:64]}
    window = Store(db)
    window.people()
    done = run_cli("people", "erase", "barack OBAMA", db=db)
    assert done.returncode == 0, done.stderr
    assert "erased Barack Obama: 1 sample(s)" in done.stdout and "ft-20261203-090000 retired" in done.stdout
    assert files_holding(data, needles) == []
    assert list(models.iterdir()) == []
    assert versions.active_model(window) == "sface-2021dec"
    assert {s.model for s in window.samples()} == {"sface-2021dec"}  # Biden re-embedded with the stock model
    window.close()

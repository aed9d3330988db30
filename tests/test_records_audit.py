"""The audit trail and the tamper-evident attendance log, checked by ``faceattend verify``.

Rows are edited, deleted and reordered from outside the app with the sqlite3 command line (or
Python's sqlite3 where the command line is not installed), then the real CLI must say what.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from faceattend.store import Store, StoreError, attendance, audit

from records_fixtures import CROP, run_cli, unit


def _outside(db: Path, sql: str) -> None:
    """Change the file the way someone with a shell would: the sqlite3 command line."""
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(db), sql], check=True, capture_output=True)
    else:
        conn = sqlite3.connect(db)
        conn.executescript(sql)
        conn.close()


@pytest.fixture
def school(tmp_path: Path) -> Path:
    db = tmp_path / "school.db"
    with Store(db) as store:
        ada, ben = store.add_person("Ada"), store.add_person("Ben")
        start = datetime.now(UTC) - timedelta(days=2)
        for n in range(3):
            for pid in (ada, ben):
                attendance.record(store, pid, at=start + timedelta(hours=n, minutes=pid), source="manual",
                                  note="typed in from the paper register")
    return db


def _verify(db: Path) -> tuple[int, str]:
    done = run_cli("verify", db=db)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout


def test_an_untouched_database_verifies(school: Path) -> None:
    rc, out = _verify(school)
    assert rc == 0 and "ok" in out and "attendance records: 6" in out


@pytest.mark.parametrize("sql, expected", [
    ("UPDATE attendance SET time = '2026-01-01T08:00:00.000000+00:00' WHERE id = 3",
     "attendance record 3: changed outside the app"),
    ("UPDATE attendance SET person_id = 2 WHERE id = 1", "attendance record 1: changed outside the app"),
    ("DELETE FROM attendance WHERE id = 4", "attendance record 4: deleted outside the app"),
    ("DELETE FROM attendance WHERE id IN (5, 6)", "attendance record 5-6: the newest record(s) were deleted"),
    ("UPDATE attendance SET id = 100 WHERE id = 2; UPDATE attendance SET id = 2 WHERE id = 3; "
     "UPDATE attendance SET id = 3 WHERE id = 100", "attendance record 2: changed outside the app"),
    ("UPDATE attendance SET removed_reason = 'never here' WHERE id = 2",
     "attendance record 2: marked removed outside the app"),
    ("DELETE FROM audit WHERE id = 3", "audit event 3: deleted outside the app"),
    ("INSERT INTO attendance (id, person_id, time, kind, source, note) VALUES "
     "(7, 1, '2026-12-01T08:00:00+00:00', 'check-in', 'camera', '')", "attendance record 7: changed outside"),
])
def test_verify_reports_each_change_made_outside_the_app(school: Path, sql: str, expected: str) -> None:
    _outside(school, sql)
    rc, out = _verify(school)
    assert rc == 1 and expected in out, out


def test_verify_reports_a_damaged_file(school: Path) -> None:
    _outside(school, "PRAGMA wal_checkpoint(TRUNCATE);")
    with open(school, "r+b") as handle:
        handle.seek(4096 * 2)
        handle.write(b"\xff" * 4096)
    rc, out = _verify(school)
    assert rc == 1 and "PROBLEM:" in out and ("database file" in out or "malformed" in out), out


def test_a_removal_is_an_event_and_can_be_undone(school: Path) -> None:
    with Store(school) as store:
        store.actor = "admin"
        item = attendance.events(store, *attendance.local_day_bounds(date.today() - timedelta(days=2)))[0]
        attendance.remove_event(store, item.id, "wrong person")
        assert attendance.event(store, item.id).removed_reason == "wrong person"
        attendance.restore_event(store, item.id, "it was Ada after all")
        assert attendance.event(store, item.id).removed_reason is None
        with pytest.raises(StoreError, match="not removed"):
            attendance.restore_event(store, item.id)
        done = [(e.action, e.actor, e.detail.get("reason")) for e in audit.events(store, action=None)][-2:]
    assert done == [("record-remove", "admin", "wrong person"), ("record-restore", "admin", "it was Ada after all")]
    assert _verify(school)[0] == 0


def test_every_change_is_an_audit_event_with_time_and_who(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with Store(db) as store:
        store.actor = "operator"
        pid = store.add_person("Ada", external_id="7")
        sid = store.add_sample(pid, unit(1), "m", CROP, 0.9, "ada.jpg")
        store.remove_sample(sid)
        store.rename_person(pid, "Ada King")
        store.update_person(pid, "8", "7B")
        attendance.record(store, pid, at=datetime.now(UTC) - timedelta(hours=1), source="manual",
                          note="bus was late")
        trail = audit.events(store)
    assert [e.action for e in trail] == ["enrol", "sample-add", "sample-remove", "rename", "update", "record-add"]
    assert all(e.actor == "operator" and e.time.tzinfo is not None for e in trail)
    assert trail[3].detail == {"from": "Ada"} and trail[5].detail["reason"] == "bus was late"
    out = tmp_path / "x.csv"
    assert run_cli("export", "--csv", str(out), db=db).returncode == 0
    with Store(db) as store:
        exported = audit.events(store, action="export")
    assert len(exported) == 1 and exported[0].actor.startswith("cli:")


def test_audit_events_are_append_only_through_the_api(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        first = audit.log(store, "settings", "threshold", {"from": 0.47, "to": 0.5}, "admin")
        second = audit.log(store, "model", "ft-x", {}, "admin")
        assert second == first + 1
        assert [e.detail for e in audit.events(store)] == [{"from": 0.47, "to": 0.5}, {}]

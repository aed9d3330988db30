"""Time that cannot corrupt the record: durability, races, wrong clocks, DST, midnight shifts."""

from __future__ import annotations

import multiprocessing
import time as systime
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from faceattend.store import CHECK_IN, CHECK_OUT, Store, attendance
from faceattend.store.days import local_zone


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> object:
    """Run a test in a named time zone (TZ), restoring the process's zone afterwards."""
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        systime.tzset()
    yield use
    monkeypatch.undo()
    systime.tzset()


def _clock(monkeypatch: pytest.MonkeyPatch, offset: timedelta) -> None:
    """The computer's clock off by ``offset`` for the attendance module (like a wrong BIOS clock)."""
    class Wrong(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + offset

    monkeypatch.setattr(attendance, "datetime", Wrong)


def test_every_connection_syncs_each_commit_to_disk(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def _record_at_once(db: str, pid: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    with Store(db, backups=False) as store:
        barrier.wait()
        attendance.record(store, pid, cooldown=timedelta(minutes=10))


def test_four_processes_recording_one_person_give_one_check_in(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    with Store(db) as store:
        people = [store.add_person(f"P{trial}") for trial in range(20)]
    context = multiprocessing.get_context("fork")
    for pid in people:
        barrier = context.Barrier(4)
        workers = [context.Process(target=_record_at_once, args=(str(db), pid, barrier)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0
    with Store(db) as store:
        counts = store.db.execute("SELECT person_id, COUNT(*) FROM attendance GROUP BY person_id").fetchall()
    assert dict(counts) == {pid: 1 for pid in people}


def test_a_check_in_with_the_clock_a_year_ahead_blocks_nobody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "a.db") as store:
        pid = store.add_person("Ada")
        cooldown = timedelta(minutes=10)
        _clock(monkeypatch, timedelta(days=365))
        assert attendance.record(store, pid, cooldown=cooldown) is not None
        monkeypatch.undo()
        right = attendance.record(store, pid, cooldown=cooldown)
        assert right is not None and right.flag == attendance.CLOCK_BEHIND
        assert attendance.record(store, pid, cooldown=cooldown) is None  # the real cooldown still works
        row = attendance.summary(store, date.today(), date.today())[0]
        assert row.status == "present" and row.first_check_in is not None


def test_a_record_made_with_the_clock_moved_back_counts_in_the_order_it_happened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "a.db") as store:
        pid = store.add_person("Ada")
        attendance.record(store, pid, CHECK_IN)
        attendance.record(store, pid, CHECK_OUT)
        _clock(monkeypatch, timedelta(hours=-2))
        back = attendance.record(store, pid, CHECK_IN)
        assert back.flag == attendance.CLOCK_BEHIND
        monkeypatch.undo()
        today = back.time.astimezone(local_zone()).date()
        rows = attendance.summary(store, today, today)
        assert rows[0].status == "present"  # came back in: the newest written record wins


def test_records_keep_utc_and_the_local_offset(tmp_path: Path, zone: object) -> None:
    zone("Europe/Paris")
    with Store(tmp_path / "a.db") as store:
        pid = store.add_person("Ada")
        item = attendance.record(store, pid)
        stored = store.db.execute("SELECT time, utc_offset FROM attendance").fetchone()
    assert stored[0].endswith("+00:00")
    offset = datetime.now(local_zone()).utcoffset()
    assert stored[1] == offset.total_seconds() // 60 and stored[1] in (60, 120)
    assert item.local_time.utcoffset() == offset


@pytest.mark.parametrize("tz, day, hours", [
    ("Europe/London", date(2026, 3, 29), 23), ("Europe/London", date(2026, 10, 25), 25),
    ("America/Santiago", date(2026, 9, 6), 23), ("America/Santiago", date(2026, 4, 4), 25),
])
def test_dst_days_are_23_or_25_hours_and_keep_their_records(tmp_path: Path, zone: object, tz: str,
                                                             day: date, hours: int) -> None:
    zone(tz)
    start, end = attendance.local_day_bounds(day)
    assert end - start == timedelta(hours=hours)
    with Store(tmp_path / "a.db") as store:
        pid = store.add_person("Ada")
        store.db.execute("UPDATE people SET created = '2000-01-01T00:00:00+00:00'")
        store.db.conn.commit()
        attendance.record(store, pid, at=start + timedelta(minutes=30))
        attendance.record(store, pid, CHECK_OUT, at=end - timedelta(minutes=30))
        rows = attendance.summary(store, day - timedelta(days=1), day + timedelta(days=1))
    assert [(r.day, r.status) for r in rows] == [(day - timedelta(days=1), "absent"), (day, "left"),
                                                  (day + timedelta(days=1), "absent")]


def test_a_shift_across_midnight_stays_one_shift(tmp_path: Path, zone: object) -> None:
    zone("Europe/Berlin")
    day = date.today() - timedelta(days=3)
    midnight = attendance.local_day_bounds(day)[1]
    with Store(tmp_path / "a.db") as store:
        pid = store.add_person("Night Porter")
        store.db.execute("UPDATE people SET created = '2000-01-01T00:00:00+00:00'")
        store.db.conn.commit()
        attendance.record(store, pid, CHECK_IN, at=midnight - timedelta(seconds=4))
        attendance.record(store, pid, CHECK_OUT, at=midnight + timedelta(seconds=5))
        rows = attendance.summary(store, day, day + timedelta(days=1))
    first, second = rows
    assert (first.day, first.status) == (day, "left")
    assert first.first_check_in.strftime("%H:%M:%S") == "23:59:56"
    assert first.last_check_out.strftime("%H:%M:%S") == "00:00:05"
    assert (second.status, second.first_check_in, second.last_check_out) == ("absent", None, None)


def test_a_day_with_only_a_morning_check_out_is_its_own_day(tmp_path: Path) -> None:
    """The shift rule needs an open check-in from the evening before; a lone check-out stays put."""
    day = date.today() - timedelta(days=2)
    start = attendance.local_day_bounds(day)[0]
    with Store(tmp_path / "a.db") as store:
        pid = store.add_person("Ada")
        store.db.execute("UPDATE people SET created = '2000-01-01T00:00:00+00:00'")
        store.db.conn.commit()
        attendance.record(store, pid, CHECK_OUT, at=start + timedelta(hours=1))
        rows = attendance.summary(store, day, day)
    assert rows[0].status == "left"
    _ = UTC

"""Attendance rules: recording check-ins with a cooldown, corrections, daily summaries.

Times are stored in UTC and shown in the computer's local time; a "day" is a local calendar day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from faceattend.store.db import Store, StoreError, utc_now

CHECK_IN = "check-in"
CHECK_OUT = "check-out"


@dataclass(frozen=True)
class Event:
    id: int
    person_id: int
    name: str
    time: datetime  # aware, UTC
    kind: str
    score: float | None
    source: str
    note: str
    removed_reason: str | None


@dataclass(frozen=True)
class DayRow:
    """One person on one day, as the attendance table and the CSV show it."""

    day: date
    person_id: int
    name: str
    external_id: str | None
    group_name: str | None
    first_check_in: datetime | None  # local time
    last_check_out: datetime | None  # local time
    status: str  # present | left | absent


def record(
    store: Store, person_id: int, kind: str = CHECK_IN, *, score: float | None = None,
    source: str = "camera", note: str = "", cooldown: timedelta = timedelta(0),
    at: datetime | None = None,
) -> Event | None:
    """Record and commit one event at once; None if the person did the same within ``cooldown``.

    The cooldown stops a person standing in front of the camera from being checked in on every
    frame; a check-out after a check-in is always allowed. ``at`` (an aware time, not in the
    future) is for corrections typed in later, such as a check-in missed while the camera was off.
    """
    if kind not in (CHECK_IN, CHECK_OUT):
        raise StoreError(f"unknown attendance kind {kind!r}")
    if at is not None and (at.tzinfo is None or at > datetime.now(timezone.utc)):
        raise StoreError("a record's time must be a time zone-aware moment that is not in the future")
    now = utc_now() if at is None else _utc(at)
    if cooldown > timedelta(0):
        since = (datetime.now(timezone.utc) - cooldown).isoformat(timespec="microseconds")
        recent = store.db.execute(
            "SELECT kind FROM attendance WHERE person_id = ? AND removed_reason IS NULL "
            "AND time >= ? ORDER BY time DESC LIMIT 1", [person_id, since],
        ).fetchone()
        if recent is not None and recent[0] == kind:
            return None
    store.person(person_id)
    with store.write("cannot record attendance"):
        cursor = store.db.execute(
            "INSERT INTO attendance (person_id, time, kind, score, source, note) VALUES (?, ?, ?, ?, ?, ?)",
            [person_id, now, kind, score, source, note],
        )
    return event(store, int(cursor.lastrowid))


def event(store: Store, event_id: int) -> Event:
    found = _events_where(store, "a.id = ?", [event_id])
    if not found:
        raise StoreError(f"no attendance record {event_id}")
    return found[0]


def events(store: Store, start: datetime, end: datetime, include_removed: bool = False) -> list[Event]:
    """Events with start <= time < end (aware datetimes), oldest first."""
    where = "a.time >= ? AND a.time < ?" + ("" if include_removed else " AND a.removed_reason IS NULL")
    return _events_where(store, where, [_utc(start), _utc(end)])


def remove_event(store: Store, event_id: int, reason: str) -> None:
    """Corrections keep the record, marked removed with the reason, for an audit trail."""
    if not reason.strip():
        raise StoreError("a reason is needed to remove an attendance record")
    event(store, event_id)
    with store.write("cannot remove attendance record"):
        store.db.execute("UPDATE attendance SET removed_reason = ? WHERE id = ?", [reason.strip(), event_id])


def _events_where(store: Store, where: str, params: list[object]) -> list[Event]:
    rows = store.db.execute(
        "SELECT a.id, a.person_id, p.name, a.time, a.kind, a.score, a.source, a.note, a.removed_reason "
        f"FROM attendance a JOIN people p ON p.id = a.person_id WHERE {where} ORDER BY a.time, a.id",
        params,
    ).fetchall()
    return [Event(r[0], r[1], r[2], datetime.fromisoformat(r[3]), *r[4:]) for r in rows]


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min).astimezone()
    end = datetime.combine(day + timedelta(days=1), time.min).astimezone()
    return start, end


def summary(store: Store, first: date, last: date) -> list[DayRow]:
    """Every enrolled person for every day from ``first`` to ``last`` inclusive.

    People enrolled after a day are not listed as absent on it (but are, with their records,
    when a record for that day was added by hand).
    """
    if last < first:
        raise StoreError("the end date is before the start date")
    people = store.people()
    rows: list[DayRow] = []
    day = first
    while day <= last:
        start, end = local_day_bounds(day)
        by_person: dict[int, list[Event]] = {}
        for item in events(store, start, end):
            by_person.setdefault(item.person_id, []).append(item)
        for person in people:
            if datetime.fromisoformat(person.created) >= end and person.id not in by_person:
                continue
            rows.append(_day_row(day, person.id, person.name, person.external_id,
                                 person.group_name, by_person.get(person.id, [])))
        day += timedelta(days=1)
    return rows


def _day_row(day: date, pid: int, name: str, ext: str | None, group: str | None,
             person_events: list[Event]) -> DayRow:
    ins = [e.time.astimezone() for e in person_events if e.kind == CHECK_IN]
    outs = [e.time.astimezone() for e in person_events if e.kind == CHECK_OUT]
    if not person_events:
        status = "absent"
    else:
        status = "left" if person_events[-1].kind == CHECK_OUT else "present"
    return DayRow(day, pid, name, ext, group, min(ins) if ins else None,
                  max(outs) if outs else None, status)

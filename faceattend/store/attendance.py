"""Attendance rules: recording check-ins with a cooldown, corrections, daily summaries.

Times are stored in UTC with the local UTC offset of the moment (so a record reads the same
after a move or a DST change); a "day" is a local calendar day computed with ``zoneinfo``.
Records are hash-chained (``chain.py``): nothing here updates a record's content; a removal
only sets ``removed_reason`` and is an audit event, and ``restore_event`` undoes it.

Clocks go wrong: a record written when the clock was ahead must not block the right-clock
ones, so the cooldown only looks at records up to a few minutes past now; a record written
behind the newest one (the clock moved back) is flagged ``clock-behind`` and counted in the
order it was written, not by its wrong time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from faceattend.store import chain
from faceattend.store.days import day_start, local_day, local_zone, offset_minutes
from faceattend.store.db import Store, StoreError
from faceattend.store.schema import ATTENDANCE_CONTENT

CHECK_IN = "check-in"
CHECK_OUT = "check-out"
CLOCK_BEHIND = "clock-behind"
#: How far a clock may disagree before a record is treated as written with a wrong clock.
CLOCK_TOLERANCE = timedelta(minutes=5)
#: The longest check-in/check-out pair that still counts as one shift across midnight.
MAX_SHIFT = timedelta(hours=16)


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
    utc_offset: int | None = None  # minutes east of UTC where and when it was recorded
    flag: str | None = None  # CLOCK_BEHIND, or None

    @property
    def in_future(self) -> bool:
        """Dated more than a few minutes ahead of now: written while the clock was ahead."""
        return self.time > datetime.now(UTC) + CLOCK_TOLERANCE

    @property
    def local_time(self) -> datetime:
        """The time as the clock on the wall showed it when it was recorded."""
        if self.utc_offset is None:
            return self.time.astimezone(local_zone())
        return self.time.astimezone(timezone(timedelta(minutes=self.utc_offset)))


@dataclass(frozen=True)
class DayRow:
    """One person on one day, as the attendance table and the CSV show it."""

    day: date
    person_id: int
    name: str
    external_id: str | None
    group_name: str | None
    first_check_in: datetime | None  # local time
    last_check_out: datetime | None  # local time (the next morning for a shift across midnight)
    status: str  # present | left | absent


def record(
    store: Store, person_id: int, kind: str = CHECK_IN, *, score: float | None = None,
    source: str = "camera", note: str = "", cooldown: timedelta = timedelta(0),
    at: datetime | None = None,
) -> Event | None:
    """Record and commit one event at once; None if the person did the same within ``cooldown``.

    The cooldown check and the insert are one ``BEGIN IMMEDIATE`` transaction, so processes
    recording the same person at once give one record. A check-out after a check-in is always
    allowed. ``at`` (an aware time, not in the future) is for corrections typed in later; those
    are audit events with their note as the reason.
    """
    if kind not in (CHECK_IN, CHECK_OUT):
        raise StoreError(f"unknown attendance kind {kind!r}")
    now = datetime.now(UTC)
    if at is not None and (at.tzinfo is None or at > now + CLOCK_TOLERANCE):
        raise StoreError("a record's time must be a time zone-aware moment that is not in the future")
    moment = now if at is None else at.astimezone(UTC)
    with store.write("cannot record attendance"):
        person = store.person(person_id)
        if person.archived:
            raise StoreError(f"{person.name} is archived and cannot be recorded")
        if cooldown > timedelta(0) and at is None and _recent_kind(store, person_id, now, cooldown) == kind:
            return None
        row = {"person_id": person_id, "time": _iso(moment),
               "utc_offset": offset_minutes(moment, local_zone()), "kind": kind,
               "score": None if score is None else float(score), "source": source, "note": note,
               "flag": _clock_flag(store, moment) if at is None else None}
        new_id = chain.append(store.db.conn, "attendance", row, ATTENDANCE_CONTENT)
        if at is not None or source == "manual":
            store.log("record-add", person.name, {"record": new_id, "kind": kind, "time": row["time"],
                                                  "reason": note}, person_id)
    return event(store, new_id)


def _recent_kind(store: Store, person_id: int, now: datetime, cooldown: timedelta) -> str | None:
    """The kind of the person's newest record within the cooldown, ignoring future-dated ones."""
    row = store.db.execute(
        "SELECT kind FROM attendance WHERE person_id = ? AND removed_reason IS NULL AND erased = 0 "
        "AND time >= ? AND time <= ? ORDER BY time DESC, id DESC LIMIT 1",
        [person_id, _iso(now - cooldown), _iso(now + CLOCK_TOLERANCE)],
    ).fetchone()
    return row[0] if row else None


def _clock_flag(store: Store, moment: datetime) -> str | None:
    newest = store.db.execute("SELECT MAX(time) FROM attendance WHERE erased = 0").fetchone()[0]
    if newest is not None and datetime.fromisoformat(newest) > moment + CLOCK_TOLERANCE:
        return CLOCK_BEHIND
    return None


def event(store: Store, event_id: int) -> Event:
    found = _events_where(store, "a.id = ?", [event_id])
    if not found:
        raise StoreError(f"no attendance record {event_id}")
    return found[0]


def events(store: Store, start: datetime, end: datetime, include_removed: bool = False) -> list[Event]:
    """Events with start <= time < end (aware datetimes), oldest first."""
    where = "a.time >= ? AND a.time < ?" + ("" if include_removed else " AND a.removed_reason IS NULL")
    return _events_where(store, where, [_iso(start), _iso(end)])


def remove_event(store: Store, event_id: int, reason: str) -> None:
    """Corrections keep the record, marked removed with the reason; the removal is audited."""
    if not reason.strip():
        raise StoreError("a reason is needed to remove an attendance record")
    item = event(store, event_id)
    with store.write("cannot remove attendance record"):
        store.db.execute("UPDATE attendance SET removed_reason = ? WHERE id = ?", [reason.strip(), event_id])
        store.log("record-remove", item.name, {"record": event_id, "reason": reason.strip()}, item.person_id)


def restore_event(store: Store, event_id: int, reason: str = "") -> None:
    """Undo a removal: the record counts again; the undo is audited too."""
    item = event(store, event_id)
    if item.removed_reason is None:
        raise StoreError(f"attendance record {event_id} is not removed")
    with store.write("cannot restore attendance record"):
        store.db.execute("UPDATE attendance SET removed_reason = NULL WHERE id = ?", [event_id])
        store.log("record-restore", item.name, {"record": event_id, "reason": reason.strip(),
                                                "was_removed_for": item.removed_reason}, item.person_id)


def _events_where(store: Store, where: str, params: list[object]) -> list[Event]:
    rows = store.db.execute(
        "SELECT a.id, a.person_id, p.name, a.time, a.kind, a.score, a.source, a.note, a.removed_reason, "
        f"a.utc_offset, a.flag FROM attendance a JOIN people p ON p.id = a.person_id WHERE {where} "
        "AND a.erased = 0 ORDER BY a.time, a.id",
        params,
    ).fetchall()
    return [Event(r[0], r[1], r[2], datetime.fromisoformat(r[3]), *r[4:]) for r in rows]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first instant of ``day`` and of the next one (23-25 h apart on DST days).

    Each has the fixed UTC offset of its own moment, so ``end - start`` is the real length
    (two times in one ``ZoneInfo`` subtract as wall-clock times and would say 24 h).
    """
    zone = local_zone()

    def fixed(moment: datetime) -> datetime:
        local = moment.astimezone(zone)
        return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))

    return fixed(day_start(day, zone)), fixed(day_start(day + timedelta(days=1), zone))


def in_written_order(person_events: list[Event]) -> list[Event]:
    """Time order, except that a clock-behind record goes right after the one written before it."""
    ordered = [e for e in person_events if e.flag != CLOCK_BEHIND]
    for late in sorted((e for e in person_events if e.flag == CLOCK_BEHIND), key=lambda e: e.id):
        earlier = [i for i, e in enumerate(ordered) if e.id < late.id]
        ordered.insert(max(earlier) + 1 if earlier else 0, late)
    return ordered


def shift_days(person_events: list[Event]) -> list[tuple[date, Event]]:
    """Each event with the day it counts for: a check-out soon after midnight that closes the
    previous day's check-in belongs to that day (one shift, not two broken days)."""
    zone = local_zone()
    out: list[tuple[date, Event]] = []
    open_in: tuple[date, datetime] | None = None
    for item in in_written_order(person_events):
        day = local_day(item.time, zone)
        if item.kind == CHECK_IN:
            open_in = (day, item.time)
        else:
            if open_in and day == open_in[0] + timedelta(days=1) and item.time - open_in[1] <= MAX_SHIFT:
                day = open_in[0]
            open_in = None
        out.append((day, item))
    return out


def summary(store: Store, first: date, last: date) -> list[DayRow]:
    """Every enrolled person for every day from ``first`` to ``last`` inclusive.

    People enrolled after a day, or archived before it, are not listed as absent on it (but
    are, with their records, when they have a record that day).
    """
    if last < first:
        raise StoreError("the end date is before the start date")
    zone = local_zone()
    try:
        start = day_start(first - timedelta(days=1), zone)
        end = day_start(last + timedelta(days=2), zone)
    except OverflowError:
        raise StoreError("the dates are outside the calendar this app can count") from None
    by_day: dict[tuple[int, date], list[Event]] = {}
    per_person: dict[int, list[Event]] = {}
    for item in events(store, start, end):
        per_person.setdefault(item.person_id, []).append(item)
    for pid, items in per_person.items():
        for day, item in shift_days(items):
            by_day.setdefault((pid, day), []).append(item)
    rows: list[DayRow] = []
    people = store.people()
    day = first
    while day <= last:
        day_end = day_start(day + timedelta(days=1), zone)
        day_begin = day_start(day, zone)
        for person in people:
            items = by_day.get((person.id, day), [])
            joined_later = datetime.fromisoformat(person.created) >= day_end
            left_before = person.archived is not None and datetime.fromisoformat(person.archived) < day_begin
            if (joined_later or left_before) and not items:
                continue
            rows.append(_day_row(day, person.id, person.name, person.external_id, person.group_name, items))
        day += timedelta(days=1)
    return rows


def _day_row(day: date, pid: int, name: str, ext: str | None, group: str | None,
             person_events: list[Event]) -> DayRow:
    zone = local_zone()
    ins = [e.time.astimezone(zone) for e in person_events if e.kind == CHECK_IN]
    outs = [e.time.astimezone(zone) for e in person_events if e.kind == CHECK_OUT]
    if not person_events:
        status = "absent"
    else:
        status = "left" if person_events[-1].kind == CHECK_OUT else "present"
    return DayRow(day, pid, name, ext, group, min(ins) if ins else None,
                  max(outs) if outs else None, status)

"""What privacy law asks of a biometric register: a person's own data on request, and nothing
kept longer than needed. No Qt here; the window's People tab and the CLI call these.

- ``export_person``: everything stored about one person into a new folder: the face samples as
  the PNG images stored, the embeddings with the model that made each, every attendance record
  (removed ones too, with their reason) as CSV, and the audit events about them as JSON.
- ``apply_retention``: delete attendance records and audit events older than N months, and
  optionally every face crop (the embeddings stay, so people are still recognised). Deleting
  keeps each row's place and hash in the tamper-evident chain (``store.chain.redact``) and
  wipes its content, so ``faceattend verify`` still passes and nothing personal remains; the
  WAL is then checkpointed so the old content is not left there either, and the daily backups
  get the same deletion.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from faceattend import __version__
from faceattend.store import Store, StoreError, audit, chain
from faceattend.store.export import neutralise
from faceattend.store.schema import ATTENDANCE_CONTENT

ATTENDANCE_COLUMNS = ["record", "time_utc", "local_time", "kind", "score", "source", "note", "flag",
                      "removed_reason"]
README = """Everything faceattend stores about {name}, exported {when} by {actor}.

person.json      name, ID, group, when enrolled (and archived)
samples/         the aligned face images (112x112 PNG) as stored; {missing} deleted by the retention setting
embeddings.json  one 128-number face embedding per sample, with the model that computed it
attendance.csv   every check-in and check-out, removed ones too (with the reason)
audit.json       every recorded change about this person (who, when, what)
"""


# -- per-person export ----------------------------------------------------------------------
@dataclass
class ExportReport:
    folder: Path
    samples: int = 0
    crops_missing: int = 0
    records: int = 0
    audit_events: int = 0

    def describe(self) -> str:
        missing = f" ({self.crops_missing} without an image)" if self.crops_missing else ""
        return (f"{self.samples} face sample(s){missing}, {self.records} attendance record(s), "
                f"{self.audit_events} audit event(s)")


def _folder_name(name: str, day: date) -> str:
    safe = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._")[:60] or "person"
    return f"faceattend-{safe}-{day.isoformat()}"


def _write(path: Path, data: bytes) -> None:
    """Owner-only (0600): the files hold a face and a name."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def export_person(store: Store, person_id: int, parent: Path, now: datetime | None = None) -> ExportReport:
    """Write everything about one person into a new folder in ``parent`` and log the export.

    The files are written into a hidden folder first and renamed at the end, so a full disk
    or a bad folder leaves nothing half-written; an existing folder is never overwritten.
    """
    now = now or datetime.now(UTC)
    person = store.person(person_id)
    if not parent.is_dir():
        raise StoreError(f"{parent} is not a folder")
    base = _folder_name(person.name, now.astimezone().date())
    final, n = parent / base, 1
    while final.exists():
        n += 1
        final = parent / f"{base}-{n}"
    work = parent / f".{final.name}.part"
    try:
        os.mkdir(work, 0o700)
        (work / "samples").mkdir(mode=0o700)
        report = _write_person(store, person_id, work, now)
        os.replace(work, final)
    except OSError as error:
        shutil.rmtree(work, ignore_errors=True)
        raise StoreError(f"cannot export to {parent}: {error.strerror or error}") from None
    report.folder = final
    store.log("export", person.name, {"what": "person", "folder": str(final), "samples": report.samples,
                                      "records": report.records, "audit_events": report.audit_events}, person_id)
    return report


def _write_person(store: Store, person_id: int, work: Path, now: datetime) -> ExportReport:
    person = store.person(person_id)
    report = ExportReport(work)
    rows = store.db.execute("SELECT id, model, dim, embedding, crop, quality, source, created FROM samples "
                            "WHERE person_id = ? ORDER BY id", [person_id]).fetchall()
    embeddings = []
    for sid, model, dim, blob, crop, quality, source, created in rows:
        if crop:
            _write(work / "samples" / f"sample-{sid}.png", bytes(crop))
        else:
            report.crops_missing += 1
        vector = np.frombuffer(blob, dtype="<f4")
        embeddings.append({"sample": sid, "model": model, "dim": dim, "quality": quality, "source": source,
                           "created": created, "image": f"samples/sample-{sid}.png" if crop else None,
                           "embedding": [round(float(v), 7) for v in vector]})
    report.samples = len(rows)
    report.records = _write_attendance(store, person_id, work / "attendance.csv")
    events = audit.events(store, person_id=person_id)
    report.audit_events = len(events)
    _write(work / "audit.json", _json([{**asdict(e), "time": e.time.isoformat()} for e in events]))
    _write(work / "embeddings.json", _json(embeddings))
    info = {"name": person.name, "external_id": person.external_id, "group": person.group_name,
            "enrolled": person.created, "archived": getattr(person, "archived", None),
            "exported": now.isoformat(timespec="seconds"), "exported_by": store.actor,
            "faceattend": __version__}
    _write(work / "person.json", _json(info))
    _write(work / "README.txt", README.format(name=person.name, when=info["exported"], actor=store.actor,
                                              missing=report.crops_missing).encode("utf-8"))
    return report


def _json(value: object) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def _write_attendance(store: Store, person_id: int, path: Path) -> int:
    rows = store.db.execute(
        "SELECT id, time, utc_offset, kind, score, source, note, flag, removed_reason FROM attendance "
        "WHERE person_id = ? AND erased = 0 ORDER BY id", [person_id]).fetchall()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(ATTENDANCE_COLUMNS)
    for rid, when, offset, kind, score, source, note, flag, removed in rows:
        moment = datetime.fromisoformat(when)
        local = moment.astimezone(timezone(timedelta(minutes=offset))) if offset is not None else moment.astimezone()
        cells = [str(rid), moment.isoformat(), local.isoformat(timespec="seconds"), kind or "",
                 "" if score is None else f"{score:.4f}", source or "", note or "", flag or "", removed or ""]
        writer.writerow([neutralise(c) for c in cells])
    _write(path, text.getvalue().encode("utf-8-sig"))
    return len(rows)


# -- retention ------------------------------------------------------------------------------
@dataclass
class RetentionReport:
    cutoff: datetime | None
    records: int = 0
    audit_events: int = 0
    crops: int = 0
    wal_emptied: bool = True
    backups: list[str] = field(default_factory=list)  # what was done to each daily backup

    def describe(self) -> str:
        if self.cutoff is None and not self.crops:
            parts = ["records and audit events are kept (retention: keep everything)"]
        else:
            when = f"older than {self.cutoff.astimezone():%Y-%m-%d %H:%M}" if self.cutoff else ""
            parts = [f"deleted {self.records} attendance record(s) and {self.audit_events} audit event(s) {when}"
                     .rstrip()]
        if self.crops:
            parts.append(f"deleted {self.crops} face crop(s) (embeddings kept)")
        return "; ".join(parts)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    last_day = (date(year + (month == 12), month % 12 + 1, 1) - date(year, month, 1)).days
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


#: Old audit events, except the removal/undo events of records still kept (``verify`` matches
#: each removed record with the event that removed it; a record dated ahead of its removal
#: would otherwise look removed outside the app).
_OLD_AUDIT = ("erased = 0 AND time < ? AND NOT (action IN ('record-remove', 'record-restore') AND "
              "CAST(json_extract(detail, '$.record') AS INTEGER) IN (SELECT id FROM attendance WHERE erased = 0))")


def apply_retention(store: Store, months: int, drop_crops: bool, now: datetime | None = None,
                    always_log: bool = False) -> RetentionReport:
    """Delete what the retention setting says is too old, in one transaction, log it, and do
    the same in every daily backup (a backup that cannot take it is deleted).

    ``months`` 0 keeps every record. ``always_log`` logs a run that deleted nothing too (on
    demand); the run at start-up is logged only when it deleted something.
    """
    if not isinstance(months, int) or isinstance(months, bool) or months < 0:
        raise StoreError(f"the retention must be a whole number of months, 0 or more, not {months!r}")
    now = now or datetime.now(UTC)
    cutoff = months_before(now.astimezone(UTC), months) if months else None
    report = RetentionReport(cutoff)
    with store.write("cannot apply the retention setting"):
        report.records, report.audit_events, report.crops = _delete_old(store.db.conn, cutoff, drop_crops)
        if report.records or report.audit_events or report.crops or always_log:
            store.log("retention", None, {"months": months, "drop_crops": drop_crops,
                                          "cutoff": cutoff.isoformat() if cutoff else None,
                                          "records": report.records, "audit_events": report.audit_events,
                                          "crops": report.crops})
    if report.records or report.audit_events or report.crops:
        report.wal_emptied = store.checkpoint()
    if cutoff is not None or drop_crops:
        report.backups = _scrub_backups(store.path, cutoff, drop_crops)
    return report


def _delete_old(conn: sqlite3.Connection, cutoff: datetime | None, drop_crops: bool) -> tuple[int, int, int]:
    """(records, audit events, crops) deleted; the caller holds the transaction."""
    records = events = 0
    if cutoff is not None:
        limit = cutoff.isoformat(timespec="microseconds")
        conn.execute("UPDATE attendance SET removed_reason = NULL WHERE erased = 0 AND time < ?", [limit])
        records = chain.redact(conn, "attendance", "erased = 0 AND time < ?", [limit], ATTENDANCE_CONTENT)
        events = chain.redact(conn, "audit", _OLD_AUDIT, [limit], audit.CONTENT)
    crops = conn.execute("UPDATE samples SET crop = X'' WHERE length(crop) > 0").rowcount if drop_crops else 0
    return records, events, crops


def _scrub_backups(db_path: Path, cutoff: datetime | None, drop_crops: bool) -> list[str]:
    """Backups hold the same rows: delete them there too, or delete the backup."""
    from faceattend.store.backup import apply_to_backups

    return apply_to_backups(db_path, lambda conn: _delete_old(conn, cutoff, drop_crops), "applied")

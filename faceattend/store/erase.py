"""Removing a person: *archive* (a leaver) or *erase* (a privacy request), never by accident.

- **archive**: their face samples are erased, so they are no longer recognised; their name,
  ids and attendance stay, so past registers are still complete.
- **erase**: everything about them goes: samples, the person, the content of their
  attendance records and of their audit events (each keeps its place and hash in the chain,
  nothing else). One audit event counts what was erased, without saying who.

Either way the face data is unrecoverable: ``secure_delete`` overwrites the freed space with
zeros, the WAL is checkpointed and truncated to zero bytes, and every daily backup gets the
same erasure. Fine-tuned models trained on their face are retired by
``faceattend.train.versions.retire_models_for`` (the store does not load models); callers
(the CLI's ``people archive|erase``, the window's People tab) call both.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from faceattend.store import audit, chain
from faceattend.store.db import Store
from faceattend.store.errors import StoreError
from faceattend.store.schema import ATTENDANCE_CONTENT


@dataclass
class RemovalReport:
    name: str
    mode: str  # archive | erase
    samples: int = 0
    records: int = 0
    audit_events: int = 0
    wal_emptied: bool = True
    backups: list[str] = field(default_factory=list)  # backups changed or deleted, in words


def _erase_samples(conn: sqlite3.Connection, person_id: int) -> int:
    return conn.execute("DELETE FROM samples WHERE person_id = ?", [person_id]).rowcount


def _erase_everything(conn: sqlite3.Connection, person_id: int) -> tuple[int, int, int]:
    samples = _erase_samples(conn, person_id)
    conn.execute("UPDATE attendance SET removed_reason = NULL WHERE person_id = ?", [person_id])
    records = chain.redact(conn, "attendance", "person_id = ?", [person_id], ATTENDANCE_CONTENT)
    events = chain.redact(conn, "audit", "person_id = ?", [person_id], audit.CONTENT)
    conn.execute("DELETE FROM people WHERE id = ?", [person_id])
    return samples, records, events


def archive_person(store: Store, person_id: int) -> RemovalReport:
    """Erase a leaver's face data; keep them, by name, in the attendance records."""
    person = store.person(person_id)
    if person.archived:
        raise StoreError(f"{person.name} is already archived")
    with store.write(f"cannot archive {person.name}"):
        samples = _erase_samples(store.db.conn, person_id)
        store.db.execute("UPDATE people SET archived = ? WHERE id = ?",
                         [datetime.now(UTC).isoformat(timespec="seconds"), person_id])
        store.log("archive", person.name, {"samples_erased": samples}, person_id)
    report = RemovalReport(person.name, "archive", samples=samples)
    _finish(store, person_id, "archive", report)
    return report


def erase_person(store: Store, person_id: int) -> RemovalReport:
    """Erase a person and everything about them, leaving an anonymous, counted trace."""
    person = store.person(person_id)
    with store.write("cannot erase the person"):
        samples, records, events = _erase_everything(store.db.conn, person_id)
        store.log("erase", None, {"samples": samples, "attendance_records": records,
                                  "audit_events": events})
    report = RemovalReport(person.name, "erase", samples, records, events)
    _finish(store, person_id, "erase", report)
    return report


def _finish(store: Store, person_id: int, mode: str, report: RemovalReport) -> None:
    report.wal_emptied = store.checkpoint()
    report.backups = scrub_backups(store.path, person_id, mode)


def scrub_backups(db_path: Path, person_id: int, mode: str) -> list[str]:
    """Apply the same erasure to every backup; a backup that cannot take it is deleted."""
    from faceattend.store.backup import apply_to_backups

    erase = _erase_samples if mode == "archive" else _erase_everything
    return apply_to_backups(db_path, lambda conn: erase(conn, person_id), "erased")

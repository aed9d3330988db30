"""The audit trail: every change to people, samples, records, settings and models, append-only.

API (stable; the window, the CLI and the other modules call only these two):

    log(store, action: str, subject: str | None, detail: dict, actor: str,
        person_id: int | None = None) -> int
        Append one event (UTC time, what, who) in its own committed transaction and return
        its id. ``action`` is a short verb from ACTIONS ("enrol", "rename", "archive",
        "erase", "sample-add", "sample-remove", "record-add", "record-remove",
        "record-restore", "settings", "model", "export", ...); ``subject`` is what it is
        about in words (a person's name, a file); ``detail`` is any JSON-able dict (the
        reason of a correction, old/new values); ``actor`` is who did it ("operator",
        "admin", "cli:<os user>"). ``person_id`` ties the event to a person so that erasing
        that person can redact it.
        Call it inside an open ``store.write(...)`` block to commit it with the change itself.
    events(store, *, person_id: int | None = None, action: str | None = None,
           since: datetime | None = None, limit: int | None = None) -> list[AuditEvent]
        Oldest first. Erased people's events come back with subject None and detail {}.

Why a chain: the events are hash-chained like the attendance records (see ``chain.py``), so
an event deleted or edited outside the app is found by ``faceattend verify``. Nothing here
updates or deletes an event, except the redaction that erasing a person asks for, which keeps
the event's place and hash in the chain.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from faceattend.store import chain

if TYPE_CHECKING:
    from faceattend.store.db import Store

ACTIONS = (
    "enrol", "rename", "update", "archive", "erase", "sample-add", "sample-remove",
    "record-add", "record-remove", "record-restore", "settings", "model", "model-retire",
    "export", "backup", "restore", "migrate", "login",
)
TABLE = "audit"
CONTENT = ("id", "time", "actor", "action", "subject", "person_id", "detail")


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: datetime  # aware, UTC
    actor: str
    action: str
    subject: str | None
    person_id: int | None
    detail: dict[str, Any]
    erased: bool


def default_actor() -> str:
    """The OS user running the command line: who changed the data when no one logged in."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def log(store: Store, action: str, subject: str | None, detail: dict[str, Any], actor: str,
        person_id: int | None = None) -> int:
    """Append one event; committed with the caller's transaction when inside ``store.write``."""
    row = {
        "time": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor": actor, "action": action, "subject": subject, "person_id": person_id,
        "detail": json.dumps(detail, sort_keys=True, default=str, ensure_ascii=False),
    }
    with store.write(f"cannot record the {action} in the audit trail"):
        return chain.append(store.db.conn, TABLE, row, CONTENT)


def events(store: Store, *, person_id: int | None = None, action: str | None = None,
           since: datetime | None = None, limit: int | None = None) -> list[AuditEvent]:
    where: list[str] = ["1"]
    params: list[object] = []
    if person_id is not None:
        where.append("person_id = ?")
        params.append(person_id)
    if action is not None:
        where.append("action = ?")
        params.append(action)
    if since is not None:
        where.append("time >= ?")
        params.append(since.astimezone(UTC).isoformat(timespec="microseconds"))
    sql = ("SELECT id, time, actor, action, subject, person_id, detail, erased FROM audit "
           f"WHERE {' AND '.join(where)} ORDER BY id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = store.db.execute(sql, params).fetchall()
    return [AuditEvent(r[0], datetime.fromisoformat(r[1]) if r[1] else datetime.min.replace(tzinfo=UTC),
                       r[2] or "", r[3] or "", r[4], r[5], json.loads(r[6]) if r[6] else {}, bool(r[7]))
            for r in rows]

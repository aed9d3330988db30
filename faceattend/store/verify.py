"""``faceattend verify``: is the file sound, and was anything changed outside the app?

Checks, in order: ``PRAGMA integrity_check`` (the file itself), the attendance chain, the audit
chain, and that every record marked removed (or restored) has the audit event that did it.
Works on a file the store refuses to open (damaged, newer), read-only, writing nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from faceattend.store import audit, chain
from faceattend.store.schema import ATTENDANCE_CONTENT

#: The same tolerance as attendance.CLOCK_TOLERANCE (not imported: that module needs the store).
CLOCK_TOLERANCE = timedelta(minutes=5)


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_file(path: Path) -> Verdict:
    verdict = Verdict()
    if not path.is_file():
        verdict.problems.append(f"{path} does not exist")
        return verdict
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        verdict.problems.append(f"{path} cannot be opened ({error})")
        return verdict
    try:
        _check(conn, verdict)
    except sqlite3.DatabaseError as error:
        verdict.problems.append(f"the database cannot be read ({error}); restore a backup: faceattend restore")
    finally:
        conn.close()
    return verdict


def _check(conn: sqlite3.Connection, verdict: Verdict) -> None:
    integrity = [line for r in conn.execute("PRAGMA integrity_check").fetchall() for line in str(r[0]).splitlines()]
    integrity = [line.strip("* ") for line in integrity if line.strip("* ")]
    if integrity != ["ok"]:
        verdict.problems += [f"database file: {line}" for line in integrity[:20]]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "audit" not in tables:
        verdict.notes.append("this database predates the tamper-evident log; open it once with "
                             "faceattend to upgrade it")
        return
    verdict.problems += chain.verify(conn, "attendance", ATTENDANCE_CONTENT, "attendance record")
    verdict.problems += chain.verify(conn, "audit", audit.CONTENT, "audit event")
    verdict.problems += _removals(conn)
    for table, label in (("attendance", "attendance records"), ("audit", "audit events")):
        rid, digest = chain.head(conn, table)
        verdict.notes.append(f"{label}: {rid}, chain head {digest[:16]}")
    behind = conn.execute("SELECT COUNT(*) FROM attendance WHERE flag = 'clock-behind'").fetchone()[0]
    if behind:
        verdict.notes.append(f"{behind} record(s) were written with the clock behind an earlier record")
    soon = (datetime.now(UTC) + CLOCK_TOLERANCE).isoformat(timespec="microseconds")
    ahead = conn.execute("SELECT COUNT(*) FROM attendance WHERE erased = 0 AND time > ?", [soon]).fetchone()[0]
    if ahead:
        verdict.notes.append(f"{ahead} record(s) are dated in the future (written while the clock was ahead)")


def _removals(conn: sqlite3.Connection) -> list[str]:
    """Removed flags must match the newest removal/restore event of each record."""
    expected: dict[int, str | None] = {}
    for action, detail in conn.execute(
        "SELECT action, detail FROM audit WHERE action IN ('record-remove', 'record-restore') "
        "AND erased = 0 ORDER BY id"
    ):
        try:
            info = json.loads(detail)
            expected[int(info["record"])] = info.get("reason") if action == "record-remove" else None
        except (ValueError, KeyError, TypeError):
            continue
    problems = []
    for rid, reason in conn.execute("SELECT id, removed_reason FROM attendance WHERE erased = 0 ORDER BY id"):
        want = expected.get(rid)
        if reason == want:
            continue
        if want is None and reason is not None:
            problems.append(f"attendance record {rid}: marked removed outside the app (no audit event)")
        elif reason is None:
            problems.append(f"attendance record {rid}: its removal was undone outside the app")
        else:
            problems.append(f"attendance record {rid}: its removal reason was changed outside the app")
    return problems

"""The database schema, as numbered migrations applied on every open."""

from __future__ import annotations

from datetime import UTC

from sqlite_utils import Database, Migrations

migrations = Migrations("faceattend")


@migrations()
def m001_initial(db: Database) -> None:
    """people, their face samples, and attendance events."""
    db.execute(
        """CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            external_id TEXT,
            group_name TEXT,
            created TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE samples (
            id INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            crop BLOB NOT NULL,
            quality REAL NOT NULL,
            source TEXT NOT NULL,
            created TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX samples_person ON samples(person_id)")
    db.execute("CREATE INDEX samples_model ON samples(model)")
    db.execute(
        """CREATE TABLE attendance (
            id INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            time TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('check-in', 'check-out')),
            score REAL,
            source TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            removed_reason TEXT
        )"""
    )
    db.execute("CREATE INDEX attendance_time ON attendance(time)")
    db.execute("CREATE INDEX attendance_person_time ON attendance(person_id, time)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


ATTENDANCE_CONTENT = ("id", "person_id", "time", "utc_offset", "kind", "score", "source", "note", "flag")


@migrations()
def m002_trust(db: Database) -> None:
    """Normalised unique names, archived people, attendance kept (no cascade) and hash-chained.

    Attendance is rebuilt because SQLite cannot drop a foreign key's ON DELETE CASCADE: the
    rows are copied as they are (their offset unknown, so NULL), then chained in id order.
    Two existing people whose names now compare equal both stay; the later one's key gets
    its id appended and an audit event says to rename one of them.
    """
    from faceattend.store import chain
    from faceattend.store.names import name_key

    db.execute("ALTER TABLE people ADD COLUMN name_key TEXT")
    db.execute("ALTER TABLE people ADD COLUMN archived TEXT")
    seen: dict[str, int] = {}
    clashes: list[tuple[int, str]] = []
    for pid, name in db.execute("SELECT id, name FROM people ORDER BY id").fetchall():
        key = name_key(name)
        if key in seen:
            clashes.append((pid, name))
            key = f"{key}#{pid}"
        seen[key] = pid
        db.execute("UPDATE people SET name_key = ? WHERE id = ?", [key, pid])
    db.execute("CREATE UNIQUE INDEX people_name_key ON people(name_key)")
    _create_chained_tables(db)
    db.execute(
        "INSERT INTO attendance_v2 (id, person_id, time, kind, score, source, note, removed_reason) "
        "SELECT id, person_id, time, kind, score, source, note, removed_reason FROM attendance ORDER BY id"
    )
    db.execute("DROP TABLE attendance")
    db.execute("ALTER TABLE attendance_v2 RENAME TO attendance")
    db.execute("CREATE INDEX attendance_time ON attendance(time)")
    db.execute("CREATE INDEX attendance_person_time ON attendance(person_id, time)")
    chain.rebuild(db.conn, "attendance", ATTENDANCE_CONTENT)
    for pid, name in clashes:
        _audit(db, "migrate", name, pid, {"problem": "another person has the same name once accents and "
                                                     "case are ignored; rename one"})
    for rid, pid, name, reason in db.execute(
            "SELECT a.id, a.person_id, p.name, a.removed_reason FROM attendance a JOIN people p "
            "ON p.id = a.person_id WHERE a.removed_reason IS NOT NULL ORDER BY a.id").fetchall():
        _audit(db, "record-remove", name, pid, {"record": rid, "reason": reason, "when": "before the upgrade"})


def _create_chained_tables(db: Database) -> None:
    db.execute(
        """CREATE TABLE attendance_v2 (
            id INTEGER PRIMARY KEY,
            person_id INTEGER REFERENCES people(id),
            time TEXT,
            utc_offset INTEGER,
            kind TEXT CHECK (kind IN ('check-in', 'check-out')),
            score REAL,
            source TEXT,
            note TEXT,
            flag TEXT,
            removed_reason TEXT,
            salt TEXT,
            chash TEXT,
            hash TEXT,
            erased INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            time TEXT,
            actor TEXT,
            action TEXT,
            subject TEXT,
            person_id INTEGER,
            detail TEXT,
            salt TEXT,
            chash TEXT,
            hash TEXT,
            erased INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX audit_person ON audit(person_id)")


def _audit(db: Database, action: str, subject: str, pid: int, detail: dict[str, object]) -> None:
    import json
    from datetime import datetime

    from faceattend.store import audit, chain

    row = {"time": datetime.now(UTC).isoformat(timespec="microseconds"), "actor": "upgrade",
           "action": action, "subject": subject, "person_id": pid,
           "detail": json.dumps(detail, sort_keys=True, ensure_ascii=False)}
    chain.append(db.conn, "audit", row, audit.CONTENT)


def known_migrations() -> set[str]:
    """Names of the migrations this version knows; any other applied one is from a newer version."""
    return {m.name for m in migrations._migrations}  # noqa: SLF001 (sqlite-utils has no public list)

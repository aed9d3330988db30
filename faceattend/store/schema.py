"""The database schema, as numbered migrations applied on every open."""

from __future__ import annotations

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

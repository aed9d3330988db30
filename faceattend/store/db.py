"""The SQLite store: people, face samples (embeddings + aligned crops), attendance events.

One ``Store`` per thread (SQLite connections must not cross threads). WAL journal,
``synchronous=FULL``, ``secure_delete`` and foreign keys on every connection (``connect.py``),
and every write committed before the call returns, so neither a crash nor a power cut loses a
check-in. Embeddings are little-endian float32 BLOBs tagged with the model that made them, so
a fine-tuned model never silently mixes embedding spaces.

Opening refuses what it cannot use safely: a damaged file (``PRAGMA quick_check``) raises a
StoreError naming the newest backup and ``faceattend restore``; a file from a newer version, a
read-only folder or a full disk opens read-only, with ``read_only`` saying why. Every change
is written to the audit trail (``audit.py``) in the same transaction, as ``actor``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from faceattend.images import decode_png, encode_png
from faceattend.match import Gallery
from faceattend.store import audit
from faceattend.store.connect import open_database, open_read_only
from faceattend.store.errors import StoreError
from faceattend.store.names import clean_name as _clean_name
from faceattend.store.names import name_key
from faceattend.store.schema import known_migrations, migrations

__all__ = ["Person", "Sample", "Store", "StoreError", "clean_name", "utc_now"]


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    external_id: str | None
    group_name: str | None
    created: str
    sample_count: int = 0
    archived: str | None = None  # when they were archived (face data erased, records kept)


@dataclass(frozen=True, eq=False)
class Sample:
    id: int
    person_id: int
    model: str
    embedding: np.ndarray
    quality: float
    source: str
    created: str


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id an INSERT just gave its row (always set after a successful single-row INSERT)."""
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def clean_name(name: str) -> str:
    """Names are trimmed, single-spaced, NFC, non-empty and at most 100 characters."""
    return _clean_name(name)


def _damaged(path: Path, detail: str) -> StoreError:
    from faceattend.store.backup import list_backups

    found = list_backups(path)
    hint = (f"restore the backup of {found[-1].stem[-10:]} with: faceattend restore" if found
            else "there is no backup to restore; keep a copy of the file and ask for help")
    return StoreError(f"the database file {path} is damaged ({detail}); {hint}")


@contextmanager
def _explained(action: str, path: Path | None = None) -> Iterator[None]:
    """Turn SQLite's errors into messages a user can act on."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        raise StoreError(f"{action}: {error}") from None
    except sqlite3.DatabaseError as error:
        text = str(error)
        if "full" in text:
            raise StoreError(f"{action}: the disk is full; free some space and try again") from None
        if "not a database" in text or "malformed" in text:
            if path is not None:
                raise _damaged(path, text) from None
            raise StoreError(f"{action}: the database file is damaged ({text}); "
                             "restore a backup with: faceattend restore") from None
        if "locked" in text or "busy" in text:
            raise StoreError(f"{action}: the database is busy in another program") from None
        if "readonly" in text or "query_only" in text:
            raise StoreError(f"{action}: writes are off (the database is open read-only)") from None
        raise StoreError(f"{action}: {text}") from None


#: Files that passed ``quick_check`` in this process: (path, mtime in ns, size).
_CHECKED: set[tuple[str, int, int]] = set()


class Store:
    """All reads and writes of the database go through here."""

    def __init__(self, path: Path | str, *, backups: bool = True) -> None:
        self.path = Path(path)
        self.actor = audit.default_actor()
        self._depth = 0
        with _explained(f"cannot open {self.path}", self.path):
            opened = open_database(self.path)
            self.read_only: str | None = opened.read_only
            self.db = Database(opened.conn)
            self._check_intact()
            self._migrate()
        if backups and self.read_only is None:
            from faceattend.store.backup import daily_backup

            daily_backup(self)

    def _check_intact(self) -> None:
        """``PRAGMA quick_check`` once per process and file version (it reads the whole file:
        0.38 s for 2,000 people, bench/store_quickcheck.py); the window and the wizard open
        more stores on the same file, and those need not pay again."""
        info = self.path.stat()
        key = (str(self.path.resolve()), info.st_mtime_ns, info.st_size)
        if key in _CHECKED:
            return
        rows = [line for r in self.db.execute("PRAGMA quick_check").fetchall() for line in str(r[0]).splitlines()]
        if rows != ["ok"]:
            self.db.conn.close()
            more = f" and {len(rows) - 2} more" if len(rows) > 2 else ""
            raise _damaged(self.path, "; ".join(r.strip("* ") for r in rows[:2]) + more)
        _CHECKED.add(key)

    def _migrate(self) -> None:
        applied = {m.name for m in migrations.applied(self.db)}
        newer = applied - known_migrations()
        if newer:
            if self.read_only is None:
                self.db.conn.close()
                self.db = Database(open_read_only(self.path, "").conn)
            self.read_only = ("it was written by a newer version of faceattend "
                              f"({', '.join(sorted(newer))}); update faceattend to change it")
        elif migrations.pending(self.db):
            if self.read_only is not None:
                raise StoreError(f"{self.path} needs upgrading to this version, but writes are off: "
                                 f"{self.read_only}")
            migrations.apply(self.db)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self, action: str) -> Iterator[None]:
        """One committed ``BEGIN IMMEDIATE`` transaction, rolled back whole on any error.

        Nested calls join the outer transaction (so an audit event commits with its change).
        IMMEDIATE takes the write lock before the first read, so a check followed by an insert
        (the cooldown) cannot interleave with another process doing the same.
        """
        if self.read_only is not None:
            raise StoreError(f"{action}: writes are off because {self.read_only}")
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        conn = self.db.conn
        with _explained(action, None):
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                self._depth = 0

    def log(self, action: str, subject: str | None, detail: dict[str, object] | None = None,
            person_id: int | None = None) -> int:
        """Append an audit event as this store's ``actor``."""
        return audit.log(self, action, subject, detail or {}, self.actor, person_id)

    # -- people ---------------------------------------------------------------------------
    def add_person(self, name: str, external_id: str | None = None, group: str | None = None) -> int:
        name = clean_name(name)
        with self.write(f"cannot add {name}"):
            self._refuse_taken(name, None)
            cursor = self.db.execute(
                "INSERT INTO people (name, name_key, external_id, group_name, created) VALUES (?, ?, ?, ?, ?)",
                [name, name_key(name), external_id or None, group or None, utc_now()],
            )
            pid = _row_id(cursor)
            self.log("enrol", name, {"external_id": external_id, "group": group}, pid)
        return pid

    def _refuse_taken(self, name: str, person_id: int | None) -> None:
        other = self.find_person(name)
        if other is not None and other.id != person_id:
            state = " by an archived person" if other.archived else ""
            raise StoreError(f"the name '{name}' is already taken{state} ('{other.name}'); "
                             "names that differ only in case or accents are the same person")

    def find_person(self, name: str) -> Person | None:
        """The person whose name equals ``name`` ignoring case, accents and Unicode form."""
        rows = self._people_where("p.name_key = ?", [name_key(name)])
        return rows[0] if rows else None

    def person(self, person_id: int) -> Person:
        rows = self._people_where("p.id = ?", [person_id])
        if not rows:
            raise StoreError(f"no person with id {person_id}")
        return rows[0]

    def people(self, include_archived: bool = True) -> list[Person]:
        return self._people_where("1" if include_archived else "p.archived IS NULL", [])

    def _people_where(self, where: str, params: list[object]) -> list[Person]:
        with _explained("cannot read people", self.path):
            rows = self.db.execute(
                "SELECT p.id, p.name, p.external_id, p.group_name, p.created, "
                "(SELECT COUNT(*) FROM samples s WHERE s.person_id = p.id), p.archived "
                f"FROM people p WHERE {where} ORDER BY p.name_key, p.id",
                params,
            ).fetchall()
        return [Person(*row) for row in rows]

    def rename_person(self, person_id: int, new_name: str) -> None:
        new_name = clean_name(new_name)
        old = self.person(person_id)
        with self.write(f"cannot rename to {new_name}"):
            self._refuse_taken(new_name, person_id)
            self.db.execute("UPDATE people SET name = ?, name_key = ? WHERE id = ?",
                            [new_name, name_key(new_name), person_id])
            self.log("rename", new_name, {"from": old.name}, person_id)

    def update_person(self, person_id: int, external_id: str | None, group: str | None) -> None:
        person = self.person(person_id)
        with self.write("cannot update person"):
            self.db.execute(
                "UPDATE people SET external_id = ?, group_name = ? WHERE id = ?",
                [external_id or None, group or None, person_id],
            )
            self.log("update", person.name, {"external_id": external_id, "group": group}, person_id)

    def remove_person(self, person_id: int) -> None:
        """Erase a person with everything stored about them (see ``erase.erase_person``).

        Kept for callers that predate archive/erase; ``erase.archive_person`` keeps their
        attendance instead.
        """
        from faceattend.store.erase import erase_person

        erase_person(self, person_id)

    # -- samples --------------------------------------------------------------------------
    def add_sample(
        self, person_id: int, embedding: np.ndarray, model: str, crop: np.ndarray,
        quality: float, source: str,
    ) -> int:
        vector = np.asarray(embedding, dtype="<f4").ravel()
        with self.write("cannot save the face sample"):
            person = self.person(person_id)
            if person.archived:
                raise StoreError(f"{person.name} is archived; enrol them again under a new record")
            cursor = self.db.execute(
                "INSERT INTO samples (person_id, model, dim, embedding, crop, quality, source, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [person_id, model, vector.size, vector.tobytes(), encode_png(crop), float(quality),
                 source, utc_now()],
            )
            sid = _row_id(cursor)
            self.log("sample-add", person.name, {"sample": sid, "source": source}, person_id)
        return sid

    def samples(self, person_id: int | None = None, model: str | None = None) -> list[Sample]:
        where: list[str] = ["1"]
        params: list[object] = []
        if person_id is not None:
            where.append("person_id = ?")
            params.append(person_id)
        if model is not None:
            where.append("model = ?")
            params.append(model)
        with _explained("cannot read samples", self.path):
            rows = self.db.execute(
                "SELECT id, person_id, model, embedding, quality, source, created FROM samples "
                f"WHERE {' AND '.join(where)} ORDER BY id", params,
            ).fetchall()
        return [
            Sample(r[0], r[1], r[2], np.frombuffer(r[3], dtype="<f4").astype(np.float32), r[4], r[5], r[6])
            for r in rows
        ]

    def sample_crop(self, sample_id: int) -> np.ndarray:
        row = self.db.execute("SELECT crop FROM samples WHERE id = ?", [sample_id]).fetchone()
        if row is None:
            raise StoreError(f"no sample with id {sample_id}")
        return decode_png(row[0])

    def sample_crop_or_none(self, sample_id: int) -> np.ndarray | None:
        """The sample's face image, or None when retention deleted it (the embedding is kept)."""
        row = self.db.execute("SELECT crop FROM samples WHERE id = ?", [sample_id]).fetchone()
        return decode_png(row[0]) if row is not None and row[0] else None

    def remove_sample(self, sample_id: int) -> None:
        with self.write("cannot remove sample"):
            row = self.db.execute("SELECT s.person_id, p.name FROM samples s JOIN people p ON p.id = s.person_id "
                                  "WHERE s.id = ?", [sample_id]).fetchone()
            self.db.execute("DELETE FROM samples WHERE id = ?", [sample_id])
            if row is not None:
                self.log("sample-remove", row[1], {"sample": sample_id}, row[0])

    def replace_embeddings(self, model: str, embeddings: dict[int, np.ndarray]) -> None:
        """Re-tag samples with a new model's embeddings in one transaction (after fine-tuning)."""
        with self.write("cannot re-embed the gallery"):
            for sample_id, vector in embeddings.items():
                vector = np.asarray(vector, dtype="<f4").ravel()
                self.db.execute(
                    "UPDATE samples SET model = ?, dim = ?, embedding = ? WHERE id = ?",
                    [model, vector.size, vector.tobytes(), sample_id],
                )

    def gallery(self, model: str) -> Gallery:
        """The matching matrix of every sample made by ``model``."""
        samples = self.samples(model=model)
        names = {p.id: p.name for p in self.people()}
        if not samples:
            return Gallery.empty()
        return Gallery(np.stack([s.embedding for s in samples]), [s.person_id for s in samples], names)

    def sample_models(self) -> dict[str, int]:
        """How many samples each model made (more than one key means a re-embed is pending)."""
        rows = self.db.execute("SELECT model, COUNT(*) FROM samples GROUP BY model").fetchall()
        return {model: count for model, count in rows}

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.write("cannot save setting"):
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def checkpoint(self) -> bool:
        """Copy the WAL into the main file and truncate it to zero bytes (after an erasure).

        False when another connection is reading at this moment and the WAL could not be
        emptied; retried a few times first.
        """
        import time

        for attempt in range(6):  # under a second in all: the window calls this on its thread
            busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return True
            time.sleep(0.05 * (attempt + 1))
        return False

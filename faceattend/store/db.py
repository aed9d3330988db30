"""The SQLite store: people, face samples (embeddings + aligned crops), attendance events.

One ``Store`` per thread (SQLite connections must not cross threads). WAL journal, foreign keys
on, and every write committed before the call returns, so a crash never loses a check-in.
Embeddings are little-endian float32 BLOBs tagged with the model that made them, so a
fine-tuned model never silently mixes embedding spaces.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from faceattend.images import decode_png, encode_png
from faceattend.match import Gallery
from faceattend.store.schema import migrations


class StoreError(RuntimeError):
    """A problem with the database a user can act on; the message says what to do."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    external_id: str | None
    group_name: str | None
    created: str
    sample_count: int = 0


@dataclass(frozen=True, eq=False)
class Sample:
    id: int
    person_id: int
    model: str
    embedding: np.ndarray
    quality: float
    source: str
    created: str

    def crop_from(self, store: Store) -> np.ndarray:
        return store.sample_crop(self.id)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def clean_name(name: str) -> str:
    """Names are trimmed, single-spaced and non-empty."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise StoreError("the name is empty")
    return cleaned


@contextmanager
def _explained(action: str) -> Iterator[None]:
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
            raise StoreError(f"{action}: the database file is damaged ({text})") from None
        if "locked" in text:
            raise StoreError(f"{action}: the database is busy in another program") from None
        raise StoreError(f"{action}: {text}") from None


class Store:
    """All reads and writes of the database go through here."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with _explained(f"cannot open {self.path}"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=10)
            self.db = Database(conn)
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            migrations.apply(self.db)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self, action: str) -> Iterator[None]:
        """One committed transaction; rolled back whole on any error."""
        with _explained(action), self.db.conn:
            yield

    # -- people ---------------------------------------------------------------------------
    def add_person(self, name: str, external_id: str | None = None, group: str | None = None) -> int:
        name = clean_name(name)
        if self.find_person(name) is not None:
            raise StoreError(f"the name '{name}' is already taken")
        with self.write(f"cannot add {name}"):
            cursor = self.db.execute(
                "INSERT INTO people (name, external_id, group_name, created) VALUES (?, ?, ?, ?)",
                [name, external_id or None, group or None, utc_now()],
            )
        return int(cursor.lastrowid)

    def find_person(self, name: str) -> Person | None:
        rows = self._people_where("p.name = ? COLLATE NOCASE", [" ".join(name.split())])
        return rows[0] if rows else None

    def person(self, person_id: int) -> Person:
        rows = self._people_where("p.id = ?", [person_id])
        if not rows:
            raise StoreError(f"no person with id {person_id}")
        return rows[0]

    def people(self) -> list[Person]:
        return self._people_where("1", [])

    def _people_where(self, where: str, params: list[object]) -> list[Person]:
        with _explained("cannot read people"):
            rows = self.db.execute(
                "SELECT p.id, p.name, p.external_id, p.group_name, p.created, "
                "(SELECT COUNT(*) FROM samples s WHERE s.person_id = p.id) "
                f"FROM people p WHERE {where} ORDER BY p.name COLLATE NOCASE",
                params,
            ).fetchall()
        return [Person(*row) for row in rows]

    def rename_person(self, person_id: int, new_name: str) -> None:
        new_name = clean_name(new_name)
        other = self.find_person(new_name)
        if other is not None and other.id != person_id:
            raise StoreError(f"the name '{new_name}' is already taken")
        self.person(person_id)
        with self.write(f"cannot rename to {new_name}"):
            self.db.execute("UPDATE people SET name = ? WHERE id = ?", [new_name, person_id])

    def update_person(self, person_id: int, external_id: str | None, group: str | None) -> None:
        with self.write("cannot update person"):
            self.db.execute(
                "UPDATE people SET external_id = ?, group_name = ? WHERE id = ?",
                [external_id or None, group or None, person_id],
            )

    def remove_person(self, person_id: int) -> None:
        """Delete a person with all their samples and attendance (foreign keys cascade)."""
        self.person(person_id)
        with self.write("cannot remove person"):
            self.db.execute("DELETE FROM people WHERE id = ?", [person_id])

    # -- samples --------------------------------------------------------------------------
    def add_sample(
        self, person_id: int, embedding: np.ndarray, model: str, crop: np.ndarray,
        quality: float, source: str,
    ) -> int:
        vector = np.asarray(embedding, dtype="<f4").ravel()
        with self.write("cannot save the face sample"):
            cursor = self.db.execute(
                "INSERT INTO samples (person_id, model, dim, embedding, crop, quality, source, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [person_id, model, vector.size, vector.tobytes(), encode_png(crop), float(quality),
                 source, utc_now()],
            )
        return int(cursor.lastrowid)

    def samples(self, person_id: int | None = None, model: str | None = None) -> list[Sample]:
        where, params = ["1"], []
        if person_id is not None:
            where.append("person_id = ?")
            params.append(person_id)
        if model is not None:
            where.append("model = ?")
            params.append(model)
        with _explained("cannot read samples"):
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

    def remove_sample(self, sample_id: int) -> None:
        with self.write("cannot remove sample"):
            self.db.execute("DELETE FROM samples WHERE id = ?", [sample_id])

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

"""Daily backups with SQLite's online backup API, and restoring one.

The first writable open of each day copies the database to
``<database folder>/backups/<name>-YYYY-MM-DD.db`` (0600) while it is in use (the backup API
copies a consistent snapshot); the newest ``KEEP`` are kept. ``restore`` puts one back after
checking it, keeping the current file aside rather than deleting it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend.store.connect import PRIVATE_DIR, PRIVATE_FILE, make_private
from faceattend.store.errors import StoreError

if TYPE_CHECKING:
    from faceattend.store.db import Store

KEEP = 7


def backups_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


def list_backups(db_path: Path) -> list[Path]:
    """Backups of this database, oldest first."""
    folder = backups_dir(db_path)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{db_path.stem}-????-??-??.db"))


def _copy(conn: sqlite3.Connection, target: Path) -> None:
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    os.close(os.open(part, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    out = sqlite3.connect(str(part))
    try:
        conn.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")
    finally:
        out.close()
    make_private(part, PRIVATE_FILE)
    os.replace(part, target)


def daily_backup(store: Store, today: date | None = None, keep: int = KEEP) -> Path | None:
    """Back up once a day (a no-op when today's exists or nobody is enrolled yet).

    A failure (full disk, read-only folder) is not fatal: recording attendance matters more
    than today's copy; the newest backup stays the previous day's.
    """
    has_people = store.db.execute("SELECT EXISTS (SELECT 1 FROM people)").fetchone()[0]
    if not has_people:
        return None
    folder = backups_dir(store.path)
    target = folder / f"{store.path.stem}-{(today or date.today()).isoformat()}.db"
    if target.exists():
        return None
    try:
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        make_private(folder, PRIVATE_DIR)
        _copy(store.db.conn, target)
    except (OSError, sqlite3.Error):
        target.with_name(target.name + ".part").unlink(missing_ok=True)
        return None
    for old in list_backups(store.path)[:-keep]:
        shred(old)
    return target


def shred(path: Path) -> None:
    """Overwrite a file with zeros before deleting it (it may hold erased people's faces)."""
    try:
        size = path.stat().st_size
        with open(path, "r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        pass
    path.unlink(missing_ok=True)


def apply_to_backups(db_path: Path, change: Callable[[sqlite3.Connection], object], done_as: str) -> list[str]:
    """Make ``change`` in every backup too (an erasure, a retention run); a backup that cannot take it
    is shredded, so no copy keeps what the live database no longer has. Returns a line per backup."""
    done: list[str] = []
    for path in list_backups(db_path):
        try:
            conn = sqlite3.connect(str(path), timeout=10)
            try:
                conn.execute("PRAGMA secure_delete=ON")
                conn.execute("PRAGMA journal_mode=TRUNCATE")
                with conn:
                    change(conn)
            finally:
                conn.close()
                Path(f"{path}-journal").unlink(missing_ok=True)  # TRUNCATE mode leaves it empty
            done.append(f"{path.name}: {done_as}")
        except sqlite3.Error as error:
            shred(path)
            done.append(f"{path.name}: deleted ({error})")
    return done


def check(path: Path) -> None:
    """Raise StoreError unless ``path`` is a sound SQLite database."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise StoreError(f"{path} is not a usable backup ({error})") from None
    if result != ["ok"]:
        raise StoreError(f"{path} is damaged too ({'; '.join(result[:3])})")


def restore(db_path: Path, backup: Path | None = None) -> tuple[Path, Path | None]:
    """Put ``backup`` (default: the newest) in place of the database; close the app first.

    The current file (and its -wal) is renamed ``<name>.replaced-<time>`` rather than deleted,
    so a restore never loses anything. Returns (backup used, where the old file went).
    """
    found = list_backups(db_path)
    source = backup or (found[-1] if found else None)
    if source is None or not source.is_file():
        raise StoreError(f"no backup found in {backups_dir(db_path)}")
    check(source)
    aside = None
    if db_path.exists():
        aside = db_path.with_name(f"{db_path.name}.replaced-{datetime.now():%Y%m%d-%H%M%S}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(db_path) + suffix)
            if part.exists():
                os.replace(part, Path(str(aside) + suffix))
    with sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True) as src:
        _copy(src, db_path)
    return source, aside

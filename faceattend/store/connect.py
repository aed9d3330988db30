"""Opening the database file: private permissions, safe pragmas, and read-only when it must be.

Every connection gets ``secure_delete=ON`` (deleted faces are overwritten with zeros whatever
SQLite's compile-time default), ``synchronous=FULL`` (a check-in is on the disk, WAL included,
before the call returns: a power cut cannot lose it; the cost is measured in
``bench/store_sync.py``) and foreign keys. The file and its -wal/-shm are created 0600 (SQLite
gives those the main file's mode).

When the folder or the file cannot be written, or the disk is too full for SQLite to create
its WAL index, the file is opened read-only instead, so people, attendance and export still
work, and ``read_only`` says why writes are off.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_FALLBACK_ERRORS = ("readonly", "read-only", "unable to open", "full", "disk i/o", "no space")


@dataclass
class Opened:
    conn: sqlite3.Connection
    read_only: str | None  # why writes are off; None when they are on


def make_private(path: Path, mode: int) -> None:
    """chmod when we own the path (``paths.make_private`` picks the mode from the kind)."""
    from faceattend.paths import make_private as _private

    _private(path)


def _writable(path: Path) -> str | None:
    """None when the database can be written, else the reason in words."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is read-only"
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} is read-only"
    return None


def _nearly_full(folder: Path) -> bool:
    """SQLite reports a full disk while creating its WAL index as a plain "disk I/O error"."""
    try:
        return shutil.disk_usage(folder).free < 1024 * 1024
    except OSError:
        return False


def _pragmas(conn: sqlite3.Connection, read_only: bool) -> None:
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA foreign_keys=ON")
    if read_only:
        conn.execute("PRAGMA query_only=ON")
        return
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")


def open_read_only(path: Path, reason: str) -> Opened:
    """mode=ro first; ``immutable=1`` when SQLite cannot even create the WAL index (no space,
    or a read-only folder without the -shm file)."""
    uri = path.resolve().as_uri()
    last: sqlite3.Error | None = None
    for extra in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(uri + extra, uri=True, timeout=10)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            _pragmas(conn, read_only=True)
            return Opened(conn, reason)
        except sqlite3.Error as error:
            last = error
    assert last is not None
    raise last


def open_database(path: Path) -> Opened:
    """A writable connection when possible, else a read-only one with the reason."""
    reason = _writable(path) if path.parent.exists() else None
    if reason is not None:
        if not path.exists():
            raise sqlite3.OperationalError(f"{reason} and there is no database in it yet")
        return open_read_only(path, reason)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
        make_private(path, PRIVATE_FILE)
        conn = sqlite3.connect(str(path), timeout=10)
        try:
            _pragmas(conn, read_only=False)
        except sqlite3.Error:
            conn.close()
            raise
        return Opened(conn, None)
    except (OSError, sqlite3.OperationalError) as error:
        text = str(error).lower()
        if not path.exists() or path.stat().st_size == 0 or not any(e in text for e in _FALLBACK_ERRORS):
            raise
        why = (f"the disk is full ({error})" if "full" in text or "space" in text or _nearly_full(path.parent)
               else f"the database cannot be written ({error})")
        return open_read_only(path, why)

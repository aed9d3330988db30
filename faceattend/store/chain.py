"""Hash chains that make an edit, deletion or reordering made outside the app visible.

Each chained row carries ``salt``, ``chash`` (SHA-256 of its salt and content, id included)
and ``hash`` (SHA-256 of the previous row's hash and its own ``chash``). The newest hash is
also kept in ``meta`` as the chain's head, so deleting the newest rows is found too. Ids are
given consecutively, so a gap names the deleted rows.

Erasing a person keeps their rows' places: the content and salt are wiped and ``erased`` set,
while ``chash`` and ``hash`` stay, so the chain still verifies without holding anything about
them (the random salt makes the kept hash useless for guessing what the row said).

What this does not stop: someone who edits the file and recomputes every hash after the edit
(the algorithm is public and there is no secret key). Writing down the head that
``faceattend verify`` prints, somewhere else, turns that into something that can be found too.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Mapping, Sequence

GENESIS = "0" * 64


def _head_key(table: str) -> str:
    return f"chain:{table}"


def content_hash(salt: str, values: Sequence[object]) -> str:
    text = json.dumps([salt, *values], separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link(previous: str, chash: str) -> str:
    return hashlib.sha256((previous + chash).encode("ascii")).hexdigest()


def head(conn: sqlite3.Connection, table: str) -> tuple[int, str]:
    """(id, hash) of the newest row as last written by the app; (0, GENESIS) when empty."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [_head_key(table)]).fetchone()
    if row is None:
        return 0, GENESIS
    rid, _, digest = row[0].partition(" ")
    return int(rid), digest


def append(conn: sqlite3.Connection, table: str, row: Mapping[str, object], content: Sequence[str]) -> int:
    """Insert ``row`` as the chain's next link; the caller holds a write transaction.

    The hash is computed from the values read back from the database, so it covers exactly
    what is stored (a float or a number stored as text hashes the same way on verify).
    """
    last_id, previous = head(conn, table)
    newest = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
    new_id = max(last_id, int(newest)) + 1
    salt = secrets.token_hex(16)
    columns = ["id", "salt", *row]
    conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [new_id, salt, *row.values()],
    )
    stored = conn.execute(f"SELECT {', '.join(content)} FROM {table} WHERE id = ?", [new_id]).fetchone()
    chash = content_hash(salt, stored)
    digest = link(previous, chash)
    conn.execute(f"UPDATE {table} SET chash = ?, hash = ? WHERE id = ?", [chash, digest, new_id])
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [_head_key(table), f"{new_id} {digest}"])
    return new_id


def rebuild(conn: sqlite3.Connection, table: str, content: Sequence[str]) -> None:
    """Chain every row in id order (migrating rows written before chains existed)."""
    previous = GENESIS
    last = 0
    rows = conn.execute(f"SELECT {', '.join(content)} FROM {table} ORDER BY id").fetchall()
    for values in rows:
        salt = secrets.token_hex(16)
        chash = content_hash(salt, values)
        previous = link(previous, chash)
        last = int(values[0])
        conn.execute(f"UPDATE {table} SET salt = ?, chash = ?, hash = ? WHERE id = ?", [salt, chash, previous, last])
    if rows:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [_head_key(table), f"{last} {previous}"])


def redact(conn: sqlite3.Connection, table: str, where: str, params: Sequence[object],
           content: Sequence[str]) -> int:
    """Wipe the content of the rows matched (keeping id, chash, hash); returns how many."""
    wiped = ", ".join(f"{c} = NULL" for c in content if c != "id")
    cursor = conn.execute(f"UPDATE {table} SET {wiped}, salt = NULL, erased = 1 WHERE {where}", list(params))
    return cursor.rowcount


def verify(conn: sqlite3.Connection, table: str, content: Sequence[str], label: str) -> list[str]:
    """Every break in the chain, in words; an empty list when the chain is whole."""
    problems: list[str] = []
    previous, expected_id, last_id = GENESIS, 1, 0
    query = f"SELECT {', '.join(content)}, salt, chash, hash, erased FROM {table} ORDER BY id"
    for row in conn.execute(query):
        values = row[:len(content)]
        salt, chash, digest, erased = row[len(content):]
        rid = int(values[0])
        if rid > expected_id:
            gap = f"{expected_id}" if rid == expected_id + 1 else f"{expected_id}-{rid - 1}"
            problems.append(f"{label} {gap}: deleted outside the app (missing from the chain)")
        if not erased and (salt is None or content_hash(salt, values) != chash):
            problems.append(f"{label} {rid}: changed outside the app (its content no longer matches its hash)")
        elif link(previous, chash or "") != digest and rid == expected_id:
            problems.append(f"{label} {rid}: the chain is broken before it (a record was deleted, "
                            "inserted or moved outside the app)")
        previous, expected_id, last_id = digest or "", rid + 1, rid
    head_id, head_hash = head(conn, table)
    if head_id > last_id:
        gap = f"{last_id + 1}" if head_id == last_id + 1 else f"{last_id + 1}-{head_id}"
        problems.append(f"{label} {gap}: the newest record(s) were deleted outside the app")
    elif head_id < last_id or (last_id and previous != head_hash):
        problems.append(f"{label} {last_id}: added or changed outside the app after the last record the app wrote")
    return problems

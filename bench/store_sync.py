"""Check-ins per second with ``synchronous=FULL`` (what the store uses) against ``NORMAL``.

Each check-in is what the camera loop does: one ``attendance.record`` call, its own committed
``BEGIN IMMEDIATE`` transaction (cooldown check + hash-chained insert). Rounds alternate FULL
and NORMAL on fresh files in FOLDER (default: a temporary folder on the same disk as the data
folder would be), so load from other processes hits both alike.

    .venv/bin/python bench/store_sync.py [--checkins 300] [--rounds 3] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from faceattend.store import Store, attendance


def one_round(folder: Path, mode: str, checkins: int, people: int = 50) -> float:
    db = folder / f"sync-{mode}-{time.monotonic_ns()}.db"
    with Store(db, backups=False) as store:
        ids = [store.add_person(f"Person {n}") for n in range(people)]
        store.db.execute(f"PRAGMA synchronous={mode}")
        started = time.perf_counter()
        for n in range(checkins):
            attendance.record(store, ids[n % people], cooldown=timedelta(seconds=0))
        elapsed = time.perf_counter() - started
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return checkins / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="faceattend-sync-", dir=os.environ.get("TMPDIR", "/var/tmp")))
    results: dict[str, list[float]] = {"FULL": [], "NORMAL": []}
    for _ in range(args.rounds):
        for mode in ("FULL", "NORMAL"):
            results[mode].append(one_round(folder, mode, args.checkins))
    print(f"SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}, {platform.machine()}, "
          f"folder {folder}")
    print(f"{args.checkins} check-ins per round, {args.rounds} rounds each, alternating; check-ins per second:")
    for mode, values in results.items():
        print(f"  synchronous={mode:<6} median {statistics.median(values):7.1f}/s   rounds: "
              + ", ".join(f"{v:.1f}" for v in values))
    full, normal = statistics.median(results["FULL"]), statistics.median(results["NORMAL"])
    print(f"  FULL costs {1000 / full - 1000 / normal:.2f} ms more per check-in "
          f"({1000 / full:.2f} ms against {1000 / normal:.2f} ms)")


if __name__ == "__main__":
    main()

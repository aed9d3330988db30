"""What ``PRAGMA quick_check`` at start-up costs on a school-sized database.

Builds (once, in FOLDER) a database of PEOPLE people with SAMPLES face samples each (real
112x112 crops cut from the ORL photos in the shared data, so the PNGs have a real size) and
DAYS school days of check-ins and check-outs, then times opening the store with and without
the check (the page cache is warm: the app opens a file it has just used), and the check alone.

    .venv/bin/python bench/store_quickcheck.py [--people 2000] [--samples 5] [--days 20]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from faceattend.images import load_image
from faceattend.store import Store, attendance, chain
from faceattend.store import db as store_db
from faceattend.store.schema import ATTENDANCE_CONTENT

DATA = Path(os.environ.get("FACEATTEND_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def crops() -> list[np.ndarray]:
    import cv2

    photos = sorted((DATA / "orl").glob("s*/*.pgm"))
    if not photos:
        raise SystemExit(f"the ORL photos are not in {DATA / 'orl'} (set FACEATTEND_TEST_DATA)")
    return [cv2.resize(load_image(p), (112, 112)) for p in photos]


def build(path: Path, people: int, samples: int, days: int) -> None:
    faces = crops()
    rng = np.random.default_rng(0)
    with Store(path, backups=False) as store, store.write("bench"):
        start = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
        for n in range(people):
            pid = store.add_person(f"Pupil {n:04d}", external_id=str(10000 + n), group=f"{n % 12 + 1}A")
            for s in range(samples):
                vector = rng.standard_normal(128).astype(np.float32)
                store.add_sample(pid, vector / np.linalg.norm(vector), "sface-2021dec",
                                 faces[(n * samples + s) % len(faces)], 0.9, f"{n}-{s}.jpg")
        for day in range(days):  # camera check-ins as record() writes them (no audit event each)
            for pid in range(1, people + 1):
                for kind, moment in ((attendance.CHECK_IN, start + timedelta(days=day, seconds=pid)),
                                     (attendance.CHECK_OUT, start + timedelta(days=day, hours=7, seconds=pid))):
                    chain.append(store.db.conn, "attendance", {
                        "person_id": pid, "time": moment.isoformat(timespec="microseconds"), "utc_offset": 60,
                        "kind": kind, "score": 0.8, "source": "camera 0", "note": "", "flag": None,
                    }, ATTENDANCE_CONTENT)


def timed(what: callable, repeat: int = 5) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        what()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--folder", type=Path, default=Path("/var/tmp/faceattend-quickcheck"))
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    path = args.folder / f"school-{args.people}x{args.samples}-{args.days}d.db"
    if not path.exists():
        started = time.perf_counter()
        build(path, args.people, args.samples, args.days)
        print(f"built {path} in {time.perf_counter() - started:.0f} s")
    conn = sqlite3.connect(path)
    counts = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("people", "samples", "attendance")]
    conn.close()
    print(f"{path.stat().st_size / 2**20:.1f} MiB: {counts[0]} people, {counts[1]} samples, {counts[2]} records")

    def check_only() -> None:
        c = sqlite3.connect(path)
        c.execute("PRAGMA quick_check").fetchall()
        c.close()

    def open_store() -> None:
        store_db._CHECKED.clear()  # a fresh process: the check runs
        Store(path, backups=False).close()

    original = Store._check_intact

    def open_without_check() -> None:
        Store._check_intact = lambda self: None  # type: ignore[method-assign]
        try:
            Store(path, backups=False).close()
        finally:
            Store._check_intact = original  # type: ignore[method-assign]

    check_only()  # warm the page cache
    for label, what in (("PRAGMA quick_check alone", check_only), ("Store() open with the check", open_store),
                        ("Store() open without it", open_without_check),
                        ("Store() open, checked before", lambda: Store(path, backups=False).close())):
        values = timed(what)
        print(f"  {label:<28} median {1000 * statistics.median(values):8.1f} ms   "
              f"(5 runs: {', '.join(f'{1000 * v:.0f}' for v in values)})")


if __name__ == "__main__":
    main()

"""Makes ``store_m001.db``: a database written by faceattend before the records-trust schema.

Run with the old code first on the path (``git archive <old commit> faceattend | tar -x -C
/tmp/old && PYTHONPATH=/tmp/old python tests/records_data/make_store_m001.py``); the test of
the upgrade (tests/test_records_safety.py) opens a copy with today's code.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from faceattend.store import Store, attendance

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("store_m001.db"))
out.unlink(missing_ok=True)
with Store(out) as store:
    crop = np.full((112, 112, 3), 128, np.uint8)
    people = {}
    for name in ["Ada Lovelace", "José Martí", "JOSÉ MARTÍ", "Grace Hopper"]:  # the old code let both José in
        people[name] = store.add_person(name, external_id=f"id-{len(people)}")
        store.add_sample(people[name], np.ones(128, np.float32) / np.sqrt(128), "sface-2021dec", crop, 0.9, "x.jpg")
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    for day in range(3):
        for pid in people.values():
            attendance.record(store, pid, at=start + timedelta(days=day, minutes=pid))
            attendance.record(store, pid, attendance.CHECK_OUT, at=start + timedelta(days=day, hours=8))
    attendance.remove_event(store, 1, "wrong person")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(out)

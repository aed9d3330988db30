"""SQLite storage: people, face samples, attendance; CSV export."""

from faceattend.store.attendance import CHECK_IN, CHECK_OUT, DayRow, Event
from faceattend.store.db import Person, Sample, Store, StoreError

__all__ = ["CHECK_IN", "CHECK_OUT", "DayRow", "Event", "Person", "Sample", "Store", "StoreError"]

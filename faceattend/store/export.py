"""CSV export of the attendance summary, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from faceattend.store.attendance import DayRow
from faceattend.store.db import StoreError

COLUMNS = ["date", "name", "external_id", "group", "first_check_in", "last_check_out", "status"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a quote so spreadsheets show text instead of running a formula (CSV injection)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _time(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S") if moment is not None else ""


def write_csv(rows: Iterable[DayRow], path: Path | str) -> int:
    """Write the rows (fixed columns, UTF-8 with a BOM so Excel reads accents) atomically.

    Returns the number of rows. A full disk or unwritable folder raises StoreError and leaves
    any existing file untouched.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    count = 0
    try:
        with open(tmp, "w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in rows:
                cells = [row.day.isoformat(), row.name, row.external_id or "", row.group_name or "",
                         _time(row.first_check_in), _time(row.last_check_out), row.status]
                writer.writerow([neutralise(c) for c in cells])
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {error.strerror or error}") from None
    return count

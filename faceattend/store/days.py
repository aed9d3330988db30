"""Local days with zone-aware arithmetic (``zoneinfo``): a DST day is 23 or 25 hours long.

The local zone is ``TZ`` when set, else the zone ``/etc/localtime`` names, else the fixed
offset the OS reports now (Windows without the tzdata package). A day starts at the first
instant whose local date is that day, which is right even where clocks jump at midnight.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_zone() -> tzinfo:
    candidates = []
    if os.environ.get("TZ"):
        candidates.append(os.environ["TZ"].lstrip(":"))
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for key in candidates:
        try:
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return datetime.now().astimezone().tzinfo or UTC


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of ``day`` in ``zone`` (aware, UTC).

    A midnight skipped by a DST jump resolves (fold=0) to the offset before the jump, which is
    the instant the jump happens: the first moment of that day.
    """
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def offset_minutes(moment: datetime, zone: tzinfo) -> int:
    offset = moment.astimezone(zone).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)

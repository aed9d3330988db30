"""Handing frames from one thread to another: only the newest frame is kept.

A camera thread puts, a recognition thread takes; the taker always works on the latest picture
and never on a backlog. Pure threading (no Qt): the window, the benchmarks and the tests use it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np


@dataclass
class FrameSlot:
    """The newest frame and its sequence number; older frames are simply overwritten."""

    _cond: threading.Condition = field(default_factory=threading.Condition)
    _seq: int = 0
    _frame: np.ndarray | None = None
    _closed: bool = False

    def put(self, frame: np.ndarray) -> int:
        with self._cond:
            self._seq += 1
            self._frame = frame
            self._cond.notify_all()
            return self._seq

    def latest(self) -> tuple[int, np.ndarray | None]:
        with self._cond:
            return self._seq, self._frame

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, np.ndarray] | None:
        """The newest frame if it is newer than ``seq``, waiting up to ``timeout`` seconds."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or (self._seq > seq and self._frame is not None), timeout)
            if self._closed or self._seq <= seq or self._frame is None:
                return None
            return self._seq, self._frame

    def clear(self) -> None:
        with self._cond:
            self._frame = None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

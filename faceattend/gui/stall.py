"""A heartbeat on the GUI thread that measures how long the window ever stopped responding.

A timer asks to tick every ``interval_ms``; when the GUI thread is busy (a slow repaint, a
database call, work that should have been in a thread) the next tick comes late. The longest
gap between ticks is the longest time a click or a repaint would have waited.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class StallMonitor(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 20) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self.longest_ms = 0.0
        self.ticks = 0
        self.stalls_over_100ms = 0

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        """Forget the past (call after start-up, whose one-off work is not a stall of the live view)."""
        self._last = None
        self.longest_ms = 0.0
        self.ticks = 0
        self.stalls_over_100ms = 0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            gap = (now - self._last) * 1000.0
            self.longest_ms = max(self.longest_ms, gap)
            if gap > 100.0:
                self.stalls_over_100ms += 1
        self._last = now
        self.ticks += 1

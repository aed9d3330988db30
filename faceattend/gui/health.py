"""A health log for long runs: what a soak test needs to see from inside the window.

Set ``FACEATTEND_HEALTH_LOG=/path/file.jsonl`` (and optionally ``FACEATTEND_HEALTH_EVERY`` in
seconds, 10 by default) and the window appends one JSON line per interval: resident memory,
Python objects alive, the reference count of ``None`` (it fell by thousands a minute under the
leaking Qt binding, which is how the window died), the GUI thread's longest stall, and how many
frames were captured, recognised and actually painted. ``bench/soak.py`` reads it, for the
development install and for the frozen app alike. Nothing is logged unless the variable is set.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer

if TYPE_CHECKING:
    from faceattend.gui.main_window import MainWindow
    from faceattend.gui.video_view import VideoView

ENV_LOG = "FACEATTEND_HEALTH_LOG"
ENV_EVERY = "FACEATTEND_HEALTH_EVERY"


def resident_mb() -> float:
    """This process's resident memory (Linux /proc; elsewhere the peak from ``resource``, or nan)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        try:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        except ImportError:
            return float("nan")


class PaintCounter(QObject):
    """Counts the video frames a view really painted: paint events that showed a frame not shown before.

    Frames handed to the view (``set_frame``) are not frames seen: a repaint can be skipped or
    merged by Qt, and a repaint for another reason (a resize, the overlay) shows no new frame.
    """

    def __init__(self, view: VideoView) -> None:
        super().__init__(view)
        self._view = view
        self._last_frame: object = None
        self.frames = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint:
            frame = self._view.current_frame()
            if frame is not None and frame is not self._last_frame and self._view.message is None:
                self._last_frame = frame
                self.frames += 1
        return False


class HealthLog(QObject):
    """Appends a sample every ``every_s`` seconds to ``path``; started by :func:`attach`."""

    def __init__(self, window: MainWindow, path: Path, every_s: float) -> None:
        super().__init__(window)
        self._window, self._path, self._started = window, path, time.monotonic()
        self._painted = PaintCounter(window.live.view)
        window.live.view.installEventFilter(self._painted)
        self._recognised = 0
        self._watched: QObject | None = None  # the recognition thread whose results are counted
        self._timer = QTimer(self)
        self._timer.setInterval(max(100, int(every_s * 1000)))
        self._timer.timeout.connect(self.sample)
        self._timer.start()

    @property
    def frames_painted(self) -> int:
        return self._painted.frames

    def count_result(self, *_args: object) -> None:
        self._recognised += 1

    def sample(self) -> None:
        window = self._window
        if window.recognition is not None and window.recognition is not self._watched:
            window.recognition.result.connect(self.count_result)  # created once the model has loaded
            self._watched = window.recognition
        stall = window.stall_monitor
        record = {
            "t": round(time.monotonic() - self._started, 2),
            "rss_mb": round(resident_mb(), 1),
            "objects": len(gc.get_objects()),
            "none_refs": sys.getrefcount(None),
            "longest_stall_ms": round(stall.longest_ms, 1),
            "stalls_over_100ms": stall.stalls_over_100ms,
            "painted": self._painted.frames,
            "captured": window.capture.frames if window.capture is not None else 0,
            "recognised": self._recognised,
        }
        stall.reset()  # each sample reports the stalls of its own interval
        with self._path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


def attach(window: MainWindow) -> HealthLog | None:
    """Start the health log on ``window`` when ``FACEATTEND_HEALTH_LOG`` names a file."""
    target = os.environ.get(ENV_LOG)
    if not target:
        return None
    return HealthLog(window, Path(target), float(os.environ.get(ENV_EVERY, "10")))

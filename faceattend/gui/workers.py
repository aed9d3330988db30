"""The window's threads: capture, recognition, model loading and one-off jobs.

Nothing slow runs on the GUI thread. Frames travel through a :class:`FrameSlot` that holds only
the newest frame: the recognition thread always works on the latest picture and never on a
backlog, and the GUI is told "a new frame is there" at most once until it has taken it.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from faceattend.camera import CameraError, FrameSource
from faceattend.live import LiveRecognizer
from faceattend.pipeline import Recognizer

#: Frames larger than this (long side, pixels) are shrunk once on arrival: a 1080x1920 phone video
#: would otherwise make every detection several times slower and every repaint heavier.
MAX_FRAME_SIDE = 1280


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


def shrink(frame: np.ndarray, max_side: int = MAX_FRAME_SIDE) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return frame
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))


SourceOpener = Callable[[], FrameSource]


class CaptureThread(QThread):
    """Opens, reads and releases one source, all in this thread (camera drivers want that)."""

    opened = Signal(str, float)  # description, fps
    failed = Signal(str)  # why the pictures stopped: a sentence for the window
    frame_ready = Signal()

    def __init__(self, opener: SourceOpener, slot: FrameSlot, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._opener = opener
        self._slot = slot
        self._stop = threading.Event()
        self._pending = threading.Event()  # a frame_ready not yet taken by the GUI
        self.frames = 0

    def stop(self) -> None:
        self._stop.set()

    def taken(self) -> None:
        """The GUI took the newest frame; the next one may be announced."""
        self._pending.clear()

    def run(self) -> None:
        try:
            source = self._opener()
        except CameraError as error:
            self.failed.emit(str(error))
            return
        except Exception as error:  # a driver can fail in any way; the window must survive
            self.failed.emit(f"the camera could not be opened: {error}")
            return
        failure = None
        try:
            self.opened.emit(source.description, float(source.fps))
            failure = self._loop(source)
        finally:
            source.close()
        if failure is not None:  # said once the device is free, so the user can pick it again at once
            self.failed.emit(failure)

    def _loop(self, source: FrameSource) -> str | None:
        """Hand frames to the slot until stopped (None) or the source fails (why)."""
        interval = 1.0 / max(1.0, min(float(source.fps or 30.0), 120.0))
        next_due = time.perf_counter()
        while not self._stop.is_set():
            try:
                frame = source.read()
            except Exception as error:
                return f"{source.description} stopped working: {error}"
            if frame is None:
                ended = bool(getattr(source, "ended", False))
                why = "has ended" if ended else "stopped sending pictures (unplugged or switched off?)"
                return f"{source.description} {why}"
            self._slot.put(shrink(frame))
            self.frames += 1
            if not self._pending.is_set():
                self._pending.set()
                self.frame_ready.emit()
            # Never faster than the source's frame rate: a fake or unpaced source would spin.
            next_due = max(next_due + interval, time.perf_counter() - interval)
            delay = next_due - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
        return None


class RecognitionThread(QThread):
    """Recognises the newest frame, again and again; stale frames are skipped, never queued."""

    result = Signal(object, float, int)  # list[TrackedFace], latency in ms, frame sequence number
    error = Signal(str)

    def __init__(self, recognizer: Recognizer, lock: threading.Lock, slot: FrameSlot,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.recognizer = recognizer
        self._lock = lock
        self._slot = slot
        self._stop = threading.Event()
        self._reset = threading.Event()
        self._changes: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.live = LiveRecognizer(recognizer)
        self.processed = 0

    def stop(self) -> None:
        self._stop.set()

    def reset(self) -> None:
        """Forget the tracks (new source, or the gallery changed: everyone is recognised afresh)."""
        self._reset.set()

    def between_frames(self, change: Callable[[], None]) -> None:
        """Run ``change`` in this thread before the next frame (within 0.1 s), holding the network
        lock: settings reach the detector only while nothing reads them."""
        self._changes.put(change)

    def _apply_changes(self) -> None:
        while not self._changes.empty():
            change = self._changes.get()
            with self._lock:
                change()
            self.live.reset()

    def run(self) -> None:
        seq = 0
        while not self._stop.is_set():
            self._apply_changes()
            got = self._slot.wait_newer(seq, 0.1)
            if got is None:
                continue
            seq, frame = got
            if self._reset.is_set():
                self._reset.clear()
                self.live.reset()
            started = time.perf_counter()
            try:
                with self._lock:
                    faces = self.live.process(frame)
            except Exception as error:
                traceback.print_exc()
                self.error.emit(f"recognition failed: {error}")
                self.live.reset()
                self._stop.wait(0.5)
                continue
            self.processed += 1
            self.result.emit(faces, (time.perf_counter() - started) * 1000.0, seq)


class JobThread(QThread):
    """Runs one function off the GUI thread; ``done`` carries its result, ``failed`` its error."""

    done = Signal(object)
    failed = Signal(str)
    progress = Signal(object)

    def __init__(self, job: Callable[..., Any], parent: QObject | None = None, with_progress: bool = False) -> None:
        super().__init__(parent)
        self._job = job
        self._with_progress = with_progress
        self.cancelled = threading.Event()

    def run(self) -> None:
        try:
            value = self._job(self.progress.emit) if self._with_progress else self._job()
        except Exception as error:
            traceback.print_exc()
            self.failed.emit(str(error) or type(error).__name__)
            return
        self.done.emit(value)


def stop_thread(thread: QThread | None, timeout_ms: int = 8000) -> bool:
    """Ask a worker to stop and wait for it; True if it has finished."""
    if thread is None:
        return True
    stop = getattr(thread, "stop", None)
    if callable(stop):
        stop()
    cancelled = getattr(thread, "cancelled", None)
    if isinstance(cancelled, threading.Event):
        cancelled.set()
    return thread.wait(timeout_ms) if thread.isRunning() else True

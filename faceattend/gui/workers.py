"""The window's threads: capture, recognition, and one-off jobs (:class:`Worker`).

Nothing slow runs on the GUI thread, and the GUI thread never waits for a thread except at quit
(:func:`finish_all`): a thread that is no longer wanted is stopped (its job cancelled) and left to
end on its own. Every thread here is a :class:`BackgroundThread`, kept alive until it has ended,
so Qt never destroys a running thread. Frames travel through a :class:`FrameSlot` that holds only
the newest frame.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np
from PySide6.QtCore import QThread, QTimer, Signal

from faceattend.camera import CameraError, FrameSource
from faceattend.cancel import Cancelled, CancelToken
from faceattend.frames import FrameSlot
from faceattend.live import LiveRecognizer
from faceattend.pipeline import Recognizer

#: Frames larger than this (long side, pixels) are shrunk once on arrival: a 1080x1920 phone video
#: would otherwise make every detection several times slower and every repaint heavier.
MAX_FRAME_SIDE = 1280

#: Every started thread until it has ended: a QThread destroyed while it runs aborts the app.
_ALIVE: set[BackgroundThread] = set()


class BackgroundThread(QThread):
    """A thread the GUI stops without waiting: ``stop()`` asks it to end, and it stays referenced
    (here, not by a parent widget) until it has, however soon its owner forgets it."""

    def __init__(self) -> None:
        super().__init__()  # no parent: a closed dialog must not delete a thread still running
        self.finished.connect(self._ended)  # runs on the GUI thread, after every queued result

    def stop(self) -> None:
        raise NotImplementedError

    def start(self, priority: QThread.Priority = QThread.Priority.InheritPriority) -> None:
        _ALIVE.add(self)
        super().start(priority)

    def _ended(self) -> None:
        # Released on the next turn of the event loop, not inside this thread object's own slot.
        QTimer.singleShot(0, partial(_ALIVE.discard, self))


def finish_all(timeout_s: float = 60.0) -> bool:
    """At quit only: stop every thread and wait for them (bounded); True if all have ended.

    The one place the GUI thread waits: the process must not exit under a running thread. A
    cancelled job ends at its next check; a model load or a camera open cannot be interrupted,
    hence the long bound.
    """
    threads = list(_ALIVE)
    for thread in threads:
        thread.stop()
    deadline = time.monotonic() + timeout_s
    return all(thread.wait(max(0, int(1000 * (deadline - time.monotonic())))) for thread in threads)


Report = Callable[[object], None]
#: A job: runs in the worker's thread, checks the token between steps, reports through the callback.
Job = Callable[[CancelToken, Report], object]


class Worker(BackgroundThread):
    """Runs ``job(token, report)`` once, off the GUI thread; the one worker for one-off jobs.

    ``done`` carries what the job returns, ``progress`` each value it reports, ``failed`` its
    error; all arrive on the GUI thread. ``cancel()`` sets the token (the job stops at its next
    check) and drops whatever the worker delivers afterwards: its owner has moved on or closed.
    A dropped value that owns something (a file the job wrote) goes to ``dropped`` to be undone.
    A QThread per job rather than the thread pool: jobs are few and long (seconds to minutes),
    and each needs its own ``finished`` and ``isRunning``.
    """

    done = Signal(object)
    progress = Signal(object)
    failed = Signal(str)
    _sent = Signal(str, object)  # (which signal, value), emitted in the job's thread

    def __init__(self, job: Job, dropped: Report | None = None) -> None:
        super().__init__()
        self.token = CancelToken()
        self._job, self._dropped = job, dropped
        self._sent.connect(self._deliver)  # queued: the receiver (this object) lives on the GUI thread

    def cancel(self) -> None:
        self.token.cancel()

    def stop(self) -> None:
        self.cancel()

    def run(self) -> None:
        try:
            value = self._job(self.token, partial(self._sent.emit, "progress"))
        except Cancelled:
            return
        except Exception as error:  # shown to the user; the window stays usable
            traceback.print_exc()
            self._sent.emit("failed", str(error) or type(error).__name__)
            return
        self._sent.emit("done", value)

    def _deliver(self, kind: str, value: object) -> None:
        if self.token.cancelled:
            if self._dropped is not None and kind != "failed":
                self._dropped(value)
            return
        if kind == "failed":
            self.failed.emit(str(value))
        else:
            (self.done if kind == "done" else self.progress).emit(value)


def shrink(frame: np.ndarray, max_side: int = MAX_FRAME_SIDE) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return frame
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))


SourceOpener = Callable[[], FrameSource]


class CaptureThread(BackgroundThread):
    """Opens, reads and releases one source, all in this thread (camera drivers want that).

    ``after``: the previous capture's ``released``. The source is opened only once that one has
    let go of its device (the same camera cannot be opened twice), waiting here, not in the GUI.
    """

    opened = Signal(str, float)  # description, fps
    failed = Signal(str)  # why the pictures stopped: a sentence for the window
    frame_ready = Signal()

    def __init__(self, opener: SourceOpener, slot: FrameSlot, after: threading.Event | None = None) -> None:
        super().__init__()
        self._opener = opener
        self._slot = slot
        self._after = after
        self._stop = threading.Event()
        self._pending = threading.Event()  # a frame_ready not yet taken by the GUI
        self.released = threading.Event()  # set once this thread holds no source any more
        self.frames = 0

    def stop(self) -> None:
        self._stop.set()

    def taken(self) -> None:
        """The GUI took the newest frame; the next one may be announced."""
        self._pending.clear()

    def run(self) -> None:
        try:
            failure = self._open_and_read()
        finally:
            self.released.set()
        if failure is not None:  # said once the device is free, so the user can pick it again at once
            self.failed.emit(failure)

    def _open_and_read(self) -> str | None:
        """Wait for the previous capture, open, read until stopped; why the pictures stopped, if
        they did without being asked (None when stopped)."""
        while self._after is not None and not self._after.wait(0.1):
            if self._stop.is_set():
                return None
        if self._stop.is_set():
            return None
        try:
            source = self._opener()
        except CameraError as error:
            return str(error)
        except Exception as error:  # a driver can fail in any way; the window must survive
            return f"the camera could not be opened: {error}"
        try:
            if self._stop.is_set():  # switched away while it was opening
                return None
            self.opened.emit(source.description, float(source.fps))
            return self._loop(source)
        finally:
            source.close()

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
            if self._stop.is_set():  # a frame read after a switch must not reach the new source's viewers
                return None
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


class RecognitionThread(BackgroundThread):
    """Recognises the newest frame, again and again; stale frames are skipped, never queued."""

    result = Signal(object, float, int)  # list[TrackedFace], latency in ms, frame sequence number
    error = Signal(str)

    def __init__(self, recognizer: Recognizer, lock: threading.Lock, slot: FrameSlot) -> None:
        super().__init__()
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

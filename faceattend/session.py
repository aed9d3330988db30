"""The command line's check-in session: frames in, check-ins committed, transient faults survived.

A session runs for hours in front of a door, so nothing passing may end it or lose a check-in:

- A write that fails (the database busy in another program, a full disk) keeps the check-in in
  memory, stamped with the time the person was seen, and tries again with back-off (0.5 s, then
  doubling to 30 s) for as long as the session runs; each attempt waits at most
  :data:`BUSY_WAIT_MS` for the database, so frames keep being read meanwhile. At the end the
  session waits up to :data:`FLUSH_WAIT_S` more, then lists on stderr any check-in still unwritten
  (and exits non-zero): none is dropped silently.
- A person removed while the session runs (from the window or ``people remove``) is dropped from
  the gallery with a line on stderr; the others go on.
- A camera or stream that stops sending frames is reported and reopened with back-off for up to
  ``reconnect_for`` seconds; if it never comes back the session ends as failed.
- A video file is processed on its own timeline (frame index / fps), so the same file gives the
  same check-ins at the same video times on every run; records are stamped ``start_time`` plus
  the video time when a start time is given, otherwise the wall clock.

No Qt here: the window has its own loop.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

import numpy as np

from faceattend.camera import CameraError, FrameSource, ImageFolderSource, VideoFileSource
from faceattend.errors import UserError
from faceattend.live import AutoCheckin, LiveRecognizer, TrackedFace
from faceattend.store import Store, StoreError, attendance

#: How long one write attempt waits for a busy database (SQLite's busy timeout on this connection).
#: Short, so a locked database never freezes the camera: the queue retries instead.
BUSY_WAIT_MS = 500
#: Back-off between write attempts while the database refuses them.
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 30.0
#: Back-off between attempts to reopen a camera or stream that stopped.
RECONNECT_FIRST_S, RECONNECT_MAX_S = 1.0, 30.0
#: At the end of a session, how long queued check-ins still wait for the database.
FLUSH_WAIT_S = 300.0
#: A check-in written later than this after the person was seen keeps the time they were seen.
LATE_S = 2.0


@dataclass(frozen=True)
class Sighting:
    """A check-in decided on but maybe not yet written."""

    person_id: int
    name: str
    score: float
    seen: datetime  # wall clock (aware) when the person was seen
    rule_time: datetime  # the same moment on the cooldown's timeline (video time for a file)
    stamp: datetime | None = None  # a fixed time to record (start time + video time), else the clock
    note: str = ""  # why the time was set (the store keeps set times as audited additions)


@dataclass
class SessionResult:
    frames: int = 0
    recorded: int = 0
    removed: list[str] = field(default_factory=list)  # people dropped because they were deleted meanwhile
    unwritten: list[Sighting] = field(default_factory=list)  # still not committed when the session ended
    failure: str | None = None  # why the source died, when it did


class WriteQueue:
    """Check-ins waiting for the database, retried with back-off; never dropped unless the person is gone."""

    def __init__(self, store: Store, kind: str, cooldown: timedelta, label: str,
                 say: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.kind, self.cooldown, self.label = store, kind, cooldown, label
        self.say, self.clock = say, clock
        self.pending: list[Sighting] = []
        self.delay = 0.0  # 0 while writes succeed
        self.next_try = 0.0
        self.last_error = ""

    def __contains__(self, person_id: int) -> bool:
        return any(s.person_id == person_id for s in self.pending)

    def add(self, sighting: Sighting) -> None:
        self.pending.append(sighting)

    def due(self) -> bool:
        return bool(self.pending) and self.clock() >= self.next_try

    def flush(self) -> tuple[list[tuple[Sighting, attendance.Event | None]], list[Sighting]]:
        """Write what is pending, oldest first: (written with their events, dropped as removed people).

        Stops at the first failure, so the order of check-ins is kept, and schedules the next try.
        """
        written: list[tuple[Sighting, attendance.Event | None]] = []
        gone: list[Sighting] = []
        while self.pending:
            sighting = self.pending[0]
            at, note = self._when(sighting)
            try:
                event = attendance.record(self.store, sighting.person_id, self.kind, score=sighting.score,
                                          source=self.label, cooldown=self.cooldown, at=at, note=note)
            except StoreError as error:
                if self._person_exists(sighting.person_id) is False:
                    gone.append(self.pending.pop(0))
                    continue
                self._failed(str(error))
                break
            written.append((self.pending.pop(0), event))
        if not self.pending and self.delay:
            self.say(f"the database takes writes again; {len(written)} waiting check-in(s) written")
            self.delay, self.last_error = 0.0, ""
        return written, gone

    @staticmethod
    def _when(sighting: Sighting) -> tuple[datetime | None, str]:
        """The time to record and its note: a set time, the time seen if the write is late, or now."""
        if sighting.stamp is not None:
            return sighting.stamp, sighting.note
        late = (datetime.now(UTC) - sighting.seen).total_seconds()
        if late > LATE_S:
            return sighting.seen, f"seen at this time, written {late:.0f} s later: the database was busy"
        return None, ""

    def _failed(self, error: str) -> None:
        self.delay = RETRY_FIRST_S if not self.delay else min(2 * self.delay, RETRY_MAX_S)
        self.next_try = self.clock() + self.delay
        if error != self.last_error:
            self.say(f"{error}; {len(self.pending)} check-in(s) kept in memory, retrying every "
                     f"{RETRY_FIRST_S:g}-{RETRY_MAX_S:g} s")
            self.last_error = error

    def _person_exists(self, person_id: int) -> bool | None:
        """Whether the person is still enrolled (not erased, not archived); None when the database cannot say now."""
        try:
            return any(p.id == person_id for p in self.store.people(include_archived=False))
        except StoreError:
            return None


class Timeline:
    """Where a frame sits in time: the cooldown's clock and the time stamped on a record.

    Live sources use the wall clock for both. A video file uses its own time: the rules see
    session start + video time (so only the video decides who is due), and records are stamped
    ``start`` + video time, or the wall clock when no start is given.
    """

    def __init__(self, start: datetime | None) -> None:
        self.origin = datetime.now(UTC)
        self.start = start

    def at(self, video_time: float | None) -> tuple[datetime, datetime | None]:
        """(rule time, fixed record time or None for the clock) of a frame; ``video_time`` None: live."""
        if video_time is None:
            return datetime.now(UTC), None
        offset = timedelta(seconds=video_time)
        return self.origin + offset, (self.start + offset) if self.start is not None else None


class CheckinSession:
    """One source, one store, one set of rules; :meth:`run` until the source ends or fails."""

    def __init__(self, store: Store, live: LiveRecognizer, rules: AutoCheckin,
                 opener: Callable[[], FrameSource], *, kind: str, cooldown: timedelta, label: str,
                 start_time: datetime | None = None, reconnect_for: float = 300.0,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.store, self.live, self.rules, self.opener = store, live, rules, opener
        self.kind, self.reconnect_for = kind, reconnect_for
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self.queue = WriteQueue(store, kind, cooldown, label, self._say)
        self.timeline = Timeline(start_time)
        self.removed: set[int] = set()
        self.result = SessionResult()
        self.source: FrameSource | None = None
        self._video_time = 0.0
        self._stop = False  # set by the first Ctrl-C; checked between frames
        store.db.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")

    def run(self, max_frames: int | None = None) -> SessionResult:
        """Process frames until the source ends (or ``max_frames``, or Ctrl-C), then write what waits.

        The first Ctrl-C ends the session between two frames (never in the middle of a write); a
        second one interrupts at once.
        """
        previous = self._catch_ctrl_c()
        try:
            self.source = self.opener()
            while not self._stop and (max_frames is None or self.result.frames < max_frames):
                frame = self._next_frame()
                if frame is None:
                    break
                self.result.frames += 1
                self._handle(frame)
        except KeyboardInterrupt:
            pass
        finally:
            if self.source is not None:
                self.source.close()
        try:
            self._final_flush()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        return self.result

    def _catch_ctrl_c(self) -> signal.Handlers | None:
        """Turn the first SIGINT into a stop request; returns the handler to restore (None off the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def stop(signum: int, frame: object) -> None:
            self._stop = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        return signal.signal(signal.SIGINT, stop)  # type: ignore[return-value]

    # -- frames -----------------------------------------------------------------------------
    def _next_frame(self) -> np.ndarray | None:
        assert self.source is not None
        frame = self.source.read()
        if frame is None and not self._finite(self.source):
            frame = self._reconnect()
        if frame is not None and isinstance(self.source, VideoFileSource):
            self._video_time = self.source.time
        return frame

    @staticmethod
    def _finite(source: FrameSource) -> bool:
        """Files and folders end; a camera or stream that stops has failed."""
        return isinstance(source, (VideoFileSource, ImageFolderSource))

    def _reconnect(self) -> np.ndarray | None:
        """Reopen a stopped camera or stream with back-off; None (and a failure) when it never returns."""
        assert self.source is not None
        what = self.source.description
        self.source.close()
        self.source = None
        self._say(f"{what} stopped sending frames; reconnecting (for up to {self.reconnect_for:g} s)")
        deadline, delay, reason = time.monotonic() + self.reconnect_for, RECONNECT_FIRST_S, "no frames"
        while time.monotonic() < deadline and not self._stop:
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            self._write_if_due()  # queued check-ins still go out while the camera is away
            try:
                self.source = self.opener()
            except CameraError as error:
                reason = str(error)
            else:
                frame = self.source.read()
                if frame is not None:
                    self._say(f"{what} is back")
                    self.live.reset()  # the picture may have moved: recognise everyone afresh
                    return frame
                self.source.close()
                self.source = None
            delay = min(2 * delay, RECONNECT_MAX_S)
        if not self._stop:
            self.result.failure = f"{what} stopped and could not be reopened for {self.reconnect_for:g} s ({reason})"
        return None

    def _handle(self, frame: np.ndarray) -> None:
        video = isinstance(self.source, VideoFileSource)
        faces = self._recognise(frame, self._video_time if video else None)
        rule_time, stamp = self.timeline.at(self._video_time if video else None)
        for face in self.rules.due(faces, rule_time):
            pid = face.match.person_id
            if pid is not None and pid not in self.queue:
                note = f"video time {self._video_time:.2f} s after the start time given" if stamp else ""
                sighting = Sighting(pid, str(face.match.name), face.match.similarity, datetime.now(UTC),
                                    rule_time, stamp, note)
                self.queue.add(sighting)
                if self.queue.delay:
                    self._say(f"{sighting.name} seen at {(stamp or sighting.seen).astimezone():%H:%M:%S}: "
                              "kept in memory until the database takes writes")
        self._write_if_due()

    def _recognise(self, frame: np.ndarray, video_time: float | None) -> list[TrackedFace]:
        """Tracked faces, without people removed meanwhile. A video's frames are timed by the video."""
        faces = self.live.process(frame, timestamp=video_time)  # None: the tracker's own (wall) clock
        return [f for f in faces if f.match.person_id not in self.removed]

    # -- writes -----------------------------------------------------------------------------
    def _write_if_due(self) -> None:
        if not self.queue.due():
            return
        was_busy = bool(self.queue.delay)
        written, gone = self.queue.flush()
        for sighting, event in written:
            self.rules.recorded(sighting.person_id, sighting.rule_time)
            if event is not None:
                self.result.recorded += 1
                late = " (written late: the database was busy)" if was_busy else ""
                print(f"{event.time.astimezone():%Y-%m-%d %H:%M:%S} {self.kind} {event.name} "
                      f"({sighting.score:.2f}){late}", file=self.out, flush=True)
        for sighting in gone:
            self._drop(sighting)
        if self.queue.pending and self.queue.delay and not was_busy:
            self._say(f"kept in memory: {', '.join(s.name for s in self.queue.pending)}")

    def _drop(self, sighting: Sighting) -> None:
        """A person deleted while the session ran: no check-in, no longer recognised."""
        self.removed.add(sighting.person_id)
        self.result.removed.append(sighting.name)
        self._say(f"{sighting.name} is no longer enrolled (removed during the session); not recorded")
        recognizer = self.live.recognizer
        try:
            recognizer.gallery = self.store.gallery(recognizer.model_name)
        except StoreError:
            pass  # the removed set keeps them out until the next reload

    def _final_flush(self) -> None:
        """Give queued check-ins their last chance; report any that the database still refuses."""
        deadline = time.monotonic() + FLUSH_WAIT_S
        if self.queue.pending:
            self._say(f"waiting up to {FLUSH_WAIT_S:g} s to write {len(self.queue.pending)} check-in(s) "
                      "(Ctrl-C to stop waiting)")
        stopped = self._stop  # a Ctrl-C from now on (the second one, if one ended the session) stops waiting
        try:
            while self.queue.pending and time.monotonic() < deadline and self._stop == stopped:
                time.sleep(max(0.0, min(0.5, min(self.queue.next_try, deadline) - time.monotonic())))
                self._write_if_due()
        except KeyboardInterrupt:
            pass
        self.result.unwritten = list(self.queue.pending)
        for sighting in self.result.unwritten:
            self._say(f"NOT RECORDED: {(sighting.stamp or sighting.seen).astimezone():%Y-%m-%d %H:%M:%S} {self.kind} "
                      f"{sighting.name} ({sighting.score:.2f}); the database refused: {self.queue.last_error}")

    def _say(self, text: str) -> None:
        print(text, file=self.err, flush=True)


def start_time(text: str | None, source: FrameSource) -> datetime | None:
    """``--start-time`` as an aware moment (local time unless it names a zone), checked against the video.

    Raises UserError with a sentence for the user: not a video file, not a time, or a video that
    would end in the future (the store refuses records from the future).
    """
    if text is None:
        return None
    if not isinstance(source, VideoFileSource):
        raise UserError("--start-time is for video files; cameras and streams are stamped with the clock")
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--start-time {text!r} is not a time like 2026-12-03 08:00") from None
    start = start.astimezone() if start.tzinfo is None else start
    try:
        end = start + timedelta(seconds=source.duration)
    except OverflowError:
        raise UserError(f"--start-time {text!r} is out of range") from None
    if end > datetime.now(UTC):
        raise UserError(f"a video starting at {start:%Y-%m-%d %H:%M} and lasting {source.duration:.0f} s would "
                         "end in the future; give the time it was recorded")
    return start

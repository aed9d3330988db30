"""The command line's check-in session under faults: a locked database, a person removed mid-run,
a stream that stalls or dies, and the same video giving the same check-ins on every run.

Everything runs the real CLI as a subprocess against a real SQLite file. The camera is a real
MJPEG stream over HTTP served by this test (what an IP camera sends), so the test decides which
face is in view and when, and can make the stream stall or vanish.
"""

from __future__ import annotations

import http.server
import os
import queue
import shutil
import signal
import socketserver
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import REPO, data_path

#: How long the test holds the database locked: longer than the 10 s a plain Store connection
#: waits for a lock (the session ended with rc 1 after it), and 20 x the session's own 0.5 s wait.
LOCK_SECONDS = float(os.environ.get("FACEATTEND_TEST_LOCK_SECONDS", "12"))
WAIT = 90.0  # the longest any single step may take on a loaded machine


def cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faceattend", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)


def frame_of(photo: Path) -> bytes:
    """The photo letterboxed into a 640x480 camera frame, as JPEG."""
    image = cv2.imread(str(photo))
    scale = min(440 / image.shape[0], 600 / image.shape[1], 2.0)
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)
    y, x = (480 - image.shape[0]) // 2, (640 - image.shape[1]) // 2
    frame[y:y + image.shape[0], x:x + image.shape[1]] = image
    return cv2.imencode(".jpg", frame)[1].tobytes()


class FrameServer:
    """An MJPEG camera on 127.0.0.1 sending ``show``'s frame at 10 fps to every connection.

    ``stall()`` freezes the connections open now (they stay open, sending nothing); later ones
    play normally. ``close()`` drops everything and stops listening, like a camera unplugged.
    """

    def __init__(self, frame: bytes) -> None:
        self.frame, self.generation, self.connections, self.closing = frame, 0, 0, False
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.connections += 1
                mine = server.generation
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    while not server.closing:
                        if mine == server.generation:
                            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                             % len(server.frame) + server.frame + b"\r\n")
                        time.sleep(0.1)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/camera.mjpg"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def show(self, frame: bytes) -> None:
        self.frame = frame

    def stall(self) -> None:
        self.generation += 1

    def close(self) -> None:
        self.closing = True
        self.httpd.shutdown()
        self.httpd.server_close()


class Session:
    """``faceattend checkin`` running in the background, its output lines collected as they come."""

    def __init__(self, db: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faceattend", "--db", str(db), "checkin", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, into), daemon=True).start()

    def _collect(self, stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line.rstrip("\n"))
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = WAIT) -> str:
        """The first line (stdout or stderr, past or future) containing ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.out + self.err:
                if text in line:
                    return line
            if self.process.poll() is not None and self.lines.empty():
                break
            try:
                self.lines.get(timeout=0.2)
            except queue.Empty:
                pass
        raise AssertionError(f"no line with {text!r} (rc {self.process.poll()});\nstdout: {self.out}\n"
                             f"stderr: {self.err}")

    def stop(self) -> int:
        """Ctrl-C, as a person at the keyboard would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.wait()

    def wait(self) -> int:
        rc = self.process.wait(timeout=WAIT)
        time.sleep(0.2)  # let the readers take the last lines
        return rc

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


PEOPLE = {
    "Obama": ("portraits", "obama", "obama.jpg"),
    "Biden": ("portraits", "biden", "biden.jpg"),
    "Madonna": ("five_celebrity", "train", "madonna",
                "httpiamediaimdbcomimagesMMVBMTANDQNTAxNDVeQTJeQWpwZBbWUMDIMjQOTYVUXCRALjpg.jpg"),
}


@pytest.fixture(scope="module")
def enrolled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the three people enrolled from the photos the camera will show."""
    folder = tmp_path_factory.mktemp("people")
    for name, parts in PEOPLE.items():
        shutil.copy(data_path(*parts), folder / f"{name}_1.jpg")
    db = tmp_path_factory.mktemp("db") / "people.db"
    done = cli("enroll", "--folder", str(folder), db=db)
    assert done.returncode == 0, done.stdout + done.stderr
    return db


@pytest.fixture
def db(enrolled_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "session.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{enrolled_db}{suffix}").exists():
            shutil.copy(f"{enrolled_db}{suffix}", f"{copy}{suffix}")
    return copy


@pytest.fixture
def frames() -> dict[str, bytes]:
    return {name: frame_of(data_path(*parts)) for name, parts in PEOPLE.items()}


@pytest.fixture
def server(frames: dict[str, bytes]) -> Iterator[FrameServer]:
    camera = FrameServer(frames["Obama"])
    yield camera
    if not camera.closing:
        camera.close()


def check_ins(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT p.name, a.time FROM attendance a JOIN people p ON p.id = a.person_id "
                            "WHERE a.kind = 'check-in' ORDER BY a.time").fetchall()


def test_locked_database_and_a_person_removed_mid_session(db: Path, server: FrameServer,
                                                          frames: dict[str, bytes]) -> None:
    """Locked well past every busy timeout, then a person erased: the session goes on, and every
    check-in seen is recorded exactly once, stamped with the time the person was seen."""
    session = Session(db, "--source", server.url, "--frames-needed", "3", "--reconnect-for", "10")
    lock = sqlite3.connect(db, isolation_level=None)
    try:
        deadline = time.monotonic() + WAIT
        while server.connections == 0:  # the session has opened the store and the camera
            assert time.monotonic() < deadline and session.process.poll() is None, session.err
            time.sleep(0.1)
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        session.wait_for("kept in memory: Obama")
        server.show(frames["Biden"])
        session.wait_for("Biden seen at")
        time.sleep(max(0.0, LOCK_SECONDS - (time.monotonic() - locked_at)))
        assert session.process.poll() is None, "the session ended while the database was locked"
        released = time.time()
        lock.execute("COMMIT")
        session.wait_for("check-in Obama")
        session.wait_for("check-in Biden")

        erased = cli("people", "erase", "Madonna", db=db)
        assert "erased Madonna" in erased.stdout, erased.stdout + erased.stderr
        server.show(frames["Madonna"])
        session.wait_for("Madonna is no longer enrolled")
        server.show(frames["Obama"])  # back in view within the cooldown: not recorded again
        time.sleep(2)
        assert session.stop() == 0, session.err
    finally:
        lock.close()
        session.kill()
    recorded = check_ins(db)
    assert [name for name, _ in recorded] == ["Obama", "Biden"], (recorded, session.out, session.err)
    from datetime import datetime

    assert datetime.fromisoformat(recorded[0][1]).timestamp() < released, "stamped when seen, not when written"
    assert "Traceback" not in "\n".join(session.err)
    assert "2 check-in(s) recorded" in session.out[-1]


def test_stalled_stream_reconnects_and_a_dead_one_fails(db: Path, server: FrameServer) -> None:
    session = Session(db, "--source", server.url, "--frames-needed", "3", "--reconnect-for", "3")
    try:
        session.wait_for("check-in Obama")
        server.stall()  # the connection stays open but nothing comes: the read times out (5 s)
        session.wait_for("stopped sending frames; reconnecting")
        session.wait_for("is back")
        assert server.connections >= 2
        server.close()  # now the camera is gone for good
        rc = session.wait()
    finally:
        session.kill()
    assert rc == 1, (session.out, session.err)
    assert "could not be reopened for 3 s" in session.err[-1] and "Traceback" not in "\n".join(session.err)
    assert [name for name, _ in check_ins(db)] == ["Obama"]


def test_the_same_video_twice_gives_the_same_check_ins(tmp_path: Path) -> None:
    """A video runs on its own timeline: same people, same times, stamped from --start-time."""
    clip = data_path("videos", "short_hamilton_clip.mp4")
    ref = data_path("videos", "hamilton_refs", "lin-manuel-miranda.png")
    enrolled = tmp_path / "enrolled.db"
    assert cli("enroll", "Lin-Manuel Miranda", str(ref), db=enrolled).returncode == 0
    runs = []
    for run in range(2):
        db = tmp_path / f"run{run}.db"
        shutil.copy(enrolled, db)
        done = cli("checkin", "--source", str(clip), "--frames-needed", "3", "--max-frames", "150",
                   "--start-time", "2026-12-01 08:00", db=db)
        assert done.returncode == 0, done.stderr
        runs.append((check_ins(db), [line for line in done.stdout.splitlines() if " check-in " in line]))
    assert runs[0] == runs[1]
    recorded, printed = runs[0]
    assert [name for name, _ in recorded] == ["Lin-Manuel Miranda"]
    assert printed[0].startswith("2026-12-01 08:00:0"), printed  # within the first 150 frames (5 s)


@pytest.mark.parametrize("start, words", [("2999-01-01 08:00", "would end in the future"),
                                          ("yesterday", "is not a time like")])
def test_bad_start_times_are_refused(db: Path, start: str, words: str) -> None:
    done = cli("checkin", "--source", str(data_path("videos", "short_hamilton_clip.mp4")),
               "--start-time", start, db=db)
    assert done.returncode == 1 and words in done.stderr and "Traceback" not in done.stderr


def test_write_queue_keeps_check_ins_through_a_lock_and_drops_only_people_removed(tmp_path: Path) -> None:
    """The queue on its own, against a real SQLite file: nothing written while another connection
    holds the lock, everything written once after, and an archived person dropped, not retried."""
    from datetime import datetime, timedelta

    from faceattend.session import RETRY_FIRST_S, Sighting, WriteQueue
    from faceattend.store import Store, attendance
    from faceattend.store.erase import archive_person

    db = tmp_path / "q.db"
    store = Store(db)
    ada, bob = store.add_person("Ada"), store.add_person("Bob")
    store.db.execute("PRAGMA busy_timeout = 100")
    said: list[str] = []
    now = [0.0]
    writes = WriteQueue(store, "check-in", timedelta(minutes=30), "camera test", said.append, clock=lambda: now[0])
    seen = datetime.now(UTC) - timedelta(seconds=30)
    for pid, name in ((ada, "Ada"), (bob, "Bob")):
        writes.add(Sighting(pid, name, 0.9, seen, seen))

    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    written, gone = writes.flush()
    assert (written, gone) == ([], []) and len(writes.pending) == 2 and ada in writes
    assert writes.delay == RETRY_FIRST_S and not writes.due() and "busy" in said[-1]
    other.execute("COMMIT")
    other.close()

    archive_person(store, bob)
    now[0] += RETRY_FIRST_S
    assert writes.due()
    written, gone = writes.flush()
    assert [s.name for s, _ in written] == ["Ada"] and [s.name for s in gone] == ["Bob"]
    assert writes.pending == [] and "takes writes again" in said[-1]
    events = attendance.events(store, seen - timedelta(minutes=1), seen + timedelta(minutes=1))
    assert [(e.name, e.time) for e in events] == [("Ada", seen)], "stamped when seen, written once"
    store.close()

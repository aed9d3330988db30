"""Where frames come from: cameras, RTSP streams, video files and image folders. No Qt here.

Every source gives the one frame type of the core (RGB uint8 HxWx3, contiguous) and returns
None from ``read()`` when it has nothing more to give (end of a file, camera unplugged, stream
lost). Opening raises :class:`CameraError` with a sentence a user can act on.

A video file can be paced at its own frame rate (``realtime=True``), dropping frames when the
reader falls behind, so it behaves like a camera: the app and the benchmarks see the same
stream of frames a webcam would give.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from faceattend.config import MAX_CAMERA_INDEX  # OpenCV overflows on a larger number
from faceattend.images import IMAGE_SUFFIXES, ImageError, load_image

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".wmv", ".mpg", ".mpeg", ".flv"}
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")


class CameraError(RuntimeError):
    """A source that cannot be opened or read; the message says which one and why."""


@runtime_checkable
class FrameSource(Protocol):
    """Anything that hands out frames, one at a time, until it returns None."""

    @property
    def fps(self) -> float: ...

    @property
    def size(self) -> tuple[int, int]: ...  # (width, height)

    @property
    def description(self) -> str: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


def to_rgb(image: np.ndarray) -> np.ndarray:
    """OpenCV's BGR (or grey, or BGRA) frame as the core's RGB frame."""
    if image.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))
    if image.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGRA2RGB))
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


class OpenCVSource:
    """A ``cv2.VideoCapture`` of a camera, stream or file. Use one from one thread only."""

    def __init__(self, capture: cv2.VideoCapture, description: str) -> None:
        self._capture: cv2.VideoCapture | None = capture
        self._description = description
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self._size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.frames_read = 0

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def description(self) -> str:
        return self._description

    def read(self) -> np.ndarray | None:
        if self._capture is None:
            return None
        ok, image = self._capture.read()
        if not ok or image is None:
            return None
        self.frames_read += 1
        return to_rgb(image)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class CameraSource(OpenCVSource):
    """A local camera by index (0 is usually the built-in webcam)."""

    def __init__(self, index: int, width: int | None = None, height: int | None = None) -> None:
        previous = _quiet_opencv()  # OpenCV prints its own warnings; the CameraError says it better
        try:
            capture = cv2.VideoCapture(index, _camera_backend())
        finally:
            _restore_opencv_log(previous)
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"camera {index} could not be opened; is it connected and not used by another program?")
        if width and height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest picture, not a queue of old ones
        super().__init__(capture, f"camera {index}")
        self.index = index


class StreamSource(OpenCVSource):
    """A network stream (RTSP from an IP camera, or HTTP)."""

    def __init__(self, url: str, timeout_ms: int = 5000) -> None:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"the stream {hide_password(url)} could not be opened; "
                              "check the address and the network")
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        super().__init__(capture, f"stream {hide_password(url)}")


class VideoFileSource(OpenCVSource):
    """A video file; ``realtime`` paces it at its frame rate, ``loop`` restarts it at the end."""

    def __init__(self, path: Path | str, realtime: bool = False, loop: bool = False) -> None:
        path = Path(path)
        if not path.is_file():
            raise CameraError(f"the video {path} does not exist")
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"the video {path} could not be opened (not a video, or a format OpenCV cannot read)")
        super().__init__(capture, f"video {path.name}")
        self.path = path
        self.realtime = realtime
        self.loop = loop
        self.ended = False
        self._position = 0  # index of the next frame in the file
        self._looped = 0  # frames played in earlier rounds of a looping file
        self._start = 0.0

    @property
    def duration(self) -> float:
        """Seconds of video in the file (0.0 when the container does not say)."""
        frames = float(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0) if self._capture is not None else 0.0
        return max(0.0, frames) / self.fps

    @property
    def time(self) -> float:
        """Seconds into the video of the frame last read (frame index / fps; growing across loops).

        The video's own timeline, not the wall clock, so the same file always gives the same times.
        """
        return max(0, self._looped + self._position - 1) / self.fps

    def read(self) -> np.ndarray | None:
        if self._capture is None or self.ended:
            return None
        if self.realtime:
            self._keep_pace()
        frame = super().read()
        if frame is None and self.loop and self._position > 0:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._looped += self._position
            self._position, self._start = 0, 0.0
            frame = super().read()
        if frame is None:
            self.ended = True
            return None
        self._position += 1
        return frame

    def _keep_pace(self) -> None:
        """Wait for the frame's time, or skip frames the reader is too late for (as a camera would)."""
        now = time.perf_counter()
        if self._position == 0 or self._start == 0.0:
            self._start = now - self._position / self.fps
            return
        due = self._start + self._position / self.fps
        if due > now:
            time.sleep(due - now)
            return
        behind = int((now - due) * self.fps)
        for _ in range(behind):
            if self._capture is None or not self._capture.grab():
                break
            self._position += 1


class ImageFolderSource:
    """The images of a folder in name order, as frames (for tests and demos without a camera)."""

    def __init__(self, folder: Path | str, fps: float = 5.0, realtime: bool = False, loop: bool = False,
                 paths: list[Path] | None = None) -> None:
        """``paths`` (files in ``folder``) replaces the folder's listing: one photo as a still camera."""
        folder = Path(folder)
        if not folder.is_dir():
            raise CameraError(f"the folder {folder} does not exist")
        self.paths = paths if paths is not None else sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise CameraError(f"the folder {folder} has no images")
        self._fps, self.realtime, self.loop = float(fps), realtime, loop
        self._description = f"images in {folder.name}" if paths is None else f"image {self.paths[0].name}"
        self._index = 0
        self._last = 0.0
        self.ended = False
        self._size = self._first_size()

    def _first_size(self) -> tuple[int, int]:
        """The size of the first readable image (the size its frames will have)."""
        problem = ""
        for path in self.paths:
            try:
                first = load_image(path)
            except ImageError as error:
                problem = str(error)
                continue
            return (int(first.shape[1]), int(first.shape[0]))
        if len(self.paths) == 1:
            raise CameraError(problem)
        raise CameraError(f"none of the {len(self.paths)} images in {self.paths[0].parent} can be read")

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def description(self) -> str:
        return self._description

    def read(self) -> np.ndarray | None:
        while not self.ended:
            if self._index >= len(self.paths):
                if not self.loop:
                    self.ended = True
                    return None
                self._index = 0
            path = self.paths[self._index]
            self._index += 1
            if self.realtime:
                wait = self._last + 1.0 / self._fps - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                self._last = time.perf_counter()
            try:
                return load_image(path)
            except ImageError:
                continue  # an unreadable file is skipped, like a dropped frame
        return None

    def close(self) -> None:
        self.ended = True


def _camera_backend() -> int:
    """DirectShow on Windows opens webcams in a second where Media Foundation can take many."""
    return cv2.CAP_DSHOW if sys.platform == "win32" else cv2.CAP_ANY


def hide_password(url: str) -> str:
    """rtsp://user:secret@host -> rtsp://user:***@host, for messages and window titles."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def open_source(spec: str, *, realtime: bool = False, loop: bool = False) -> FrameSource:
    """Open what the user typed: "0"/"1" (camera index), a stream URL, a video file or an image folder.

    ``realtime``/``loop`` apply to files and folders (a camera or stream is real time already).
    """
    text = spec.strip()
    if not text:
        raise CameraError("no camera chosen")
    if text.isascii() and text.isdigit():  # not "²", which str.isdigit() also accepts
        if int(text) > MAX_CAMERA_INDEX:
            raise CameraError(f"camera number {text} is out of range: cameras are numbered 0 to {MAX_CAMERA_INDEX}")
        return CameraSource(int(text))
    if text.lower().startswith(STREAM_SCHEMES):
        return StreamSource(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, realtime=realtime, loop=loop)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return _single_image(path)
    if not path.exists():
        raise CameraError(f"{text} is neither a camera number, a stream address nor an existing file")
    return VideoFileSource(path, realtime=realtime, loop=loop)


def _single_image(path: Path) -> FrameSource:
    """One photo shown as a still camera (handy for trying the app without a webcam)."""
    return ImageFolderSource(path.parent, realtime=True, loop=True, paths=[path])


def list_cameras(max_index: int = 5) -> list[int]:
    """Indices of the cameras that open, probed quickly (no frame is read).

    On Linux only indices with a ``/dev/videoN`` node are tried, so a machine without cameras
    answers at once instead of waiting on every index.
    """
    found: list[int] = []
    previous = _quiet_opencv()
    try:
        for index in range(max_index + 1):
            if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
                continue
            capture = cv2.VideoCapture(index, _camera_backend())
            try:
                if capture.isOpened():
                    found.append(index)
            finally:
                capture.release()
    finally:
        _restore_opencv_log(previous)
    return found


def _quiet_opencv() -> int | None:
    """Silence OpenCV's warnings about missing cameras while probing."""
    try:
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        return int(previous)
    except AttributeError:
        return None


def _restore_opencv_log(level: int | None) -> None:
    if level is not None:
        try:
            cv2.utils.logging.setLogLevel(level)
        except AttributeError:
            pass

"""Frame sources: every kind gives RGB frames, ends with None, and fails with a clear CameraError."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend.camera import (
    CameraError,
    FrameSource,
    ImageFolderSource,
    VideoFileSource,
    hide_password,
    list_cameras,
    open_source,
)

from conftest import data_path


def write_video(path: Path, frames: int = 12, fps: float = 20.0) -> Path:
    """A small MJPG video whose frames are pure red (BGR (0, 0, 255)) with 5 x the index in green."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        image = np.zeros((48, 64, 3), np.uint8)
        image[..., 2] = 255
        image[..., 1] = i * 5
        writer.write(image)
    writer.release()
    return path


def test_video_file_gives_rgb_frames_then_none(tmp_path: Path) -> None:
    source = open_source(str(write_video(tmp_path / "v.avi")))
    assert isinstance(source, FrameSource)
    assert source.size == (64, 48) and source.fps == pytest.approx(20.0)
    assert source.description == "video v.avi"
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    assert len(frames) == 12
    first = frames[0]
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8 and first.flags.c_contiguous
    assert first[..., 0].mean() > 240 and first[..., 2].mean() < 15, "red in RGB order"
    assert source.read() is None


def test_video_loops_when_asked(tmp_path: Path) -> None:
    source = VideoFileSource(write_video(tmp_path / "v.avi", frames=5), loop=True)
    assert all(source.read() is not None for _ in range(13))
    source.close()
    assert source.read() is None


def test_realtime_video_is_paced_and_drops_frames_when_late(tmp_path: Path) -> None:
    source = VideoFileSource(write_video(tmp_path / "v.avi", frames=40, fps=20.0), realtime=True)
    started = time.perf_counter()
    for _ in range(8):
        assert source.read() is not None
    assert time.perf_counter() - started >= 7 / 20.0 * 0.9
    time.sleep(0.5)  # a slow reader: about 10 frames are due meanwhile
    late = source.read()
    assert late is not None and late[..., 1].mean() > 8 * 5 + 20, "frames the reader missed are skipped"
    source.close()


def test_shared_clip_has_the_documented_shape() -> None:
    source = open_source(str(data_path("videos", "short_hamilton_clip.mp4")))
    frame = source.read()
    source.close()
    assert source.size == (640, 360) and frame is not None and frame.shape == (360, 640, 3)
    assert source.fps == pytest.approx(29.97, abs=0.05)


def test_image_folder_skips_unreadable_files(tmp_path: Path) -> None:
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((20, 30, 3), 40 * i, np.uint8))
    (tmp_path / "2.jpg").write_bytes(b"not an image")
    source = open_source(str(tmp_path))
    assert isinstance(source, ImageFolderSource) and source.size == (30, 20)
    assert [source.read() is not None for _ in range(3)] == [True, True, False]
    still = open_source(str(tmp_path / "1.png"))
    assert all(still.read() is not None for _ in range(3)), "a single photo acts as a still camera"


@pytest.mark.parametrize(
    "spec, words",
    [("", "no camera chosen"), ("9", "camera 9 could not be opened"), ("/no/such/clip.mp4", "neither a camera"),
     ("rtsp://127.0.0.1:9/none", "could not be opened")],
)
def test_bad_sources_raise_clear_errors(spec: str, words: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CameraError, match=words):
        open_source(spec)
    assert time.perf_counter() - started < 10


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("hello")
    with pytest.raises(CameraError, match="could not be opened"):
        VideoFileSource(path)


def test_list_cameras_is_quick() -> None:
    started = time.perf_counter()
    found = list_cameras()
    assert isinstance(found, list) and all(isinstance(i, int) for i in found)
    assert time.perf_counter() - started < 10


def test_passwords_stay_out_of_messages() -> None:
    assert hide_password("rtsp://admin:secret@10.0.0.5/stream") == "rtsp://admin:***@10.0.0.5/stream"
    assert hide_password("rtsp://10.0.0.5/stream") == "rtsp://10.0.0.5/stream"


@pytest.mark.parametrize("spec, words", [
    ("99999999999999999999", "camera number 99999999999999999999 is out of range"),
    ("²", "neither a camera number"),
])
def test_impossible_camera_numbers_are_clear_errors(spec: str, words: str) -> None:
    with pytest.raises(CameraError, match=words):
        open_source(spec)


def test_a_single_photo_reports_its_own_size(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a_first.png"), np.zeros((20, 30, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b_chosen.png"), np.zeros((48, 64, 3), np.uint8))
    still = open_source(str(tmp_path / "b_chosen.png"))
    frame = still.read()
    assert frame is not None and frame.shape == (48, 64, 3)
    assert still.size == (64, 48) and still.description == "image b_chosen.png"


def test_video_time_is_the_files_own_timeline(tmp_path: Path) -> None:
    """Frame index / fps, whatever the reading speed, and still growing when the file loops."""
    source = VideoFileSource(write_video(tmp_path / "v.avi", frames=5, fps=20.0), loop=True)
    times = []
    for _ in range(7):
        assert source.read() is not None
        times.append(source.time)
        time.sleep(0.01)
    source.close()
    assert times == pytest.approx([i / 20.0 for i in range(7)])

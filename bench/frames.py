"""The frames every contender is timed on, read in place from the shared data folder.

Video frames are letterboxed (aspect kept, black bars) to the two camera sizes the app meets,
640x480 and 1280x720, and spread evenly over all videos. Each frame is kept both as RGB (the
app's frame type) and BGR (what OpenCV-based peers get from a camera), so no contender pays for
a colour conversion the others skip. Nothing is copied into the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720))


@dataclass(frozen=True)
class Frame:
    """One test frame in both channel orders; ``label`` says where it came from."""

    rgb: np.ndarray
    bgr: np.ndarray
    label: str

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def data_root() -> Path:
    """``FACEATTEND_TEST_DATA`` or ``<repo>/../shared/data`` (see /work/shared/data/README.md)."""
    env = os.environ.get("FACEATTEND_TEST_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fit ``width`` x ``height`` with its aspect kept, centred on black."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    out = np.zeros((height, width, 3), np.uint8)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = resized
    return out


def _make(bgr: np.ndarray, label: str) -> Frame:
    bgr = np.ascontiguousarray(bgr)
    return Frame(rgb=np.ascontiguousarray(bgr[:, :, ::-1]), bgr=bgr, label=label)


def video_frames(root: Path, per_size: int) -> dict[tuple[int, int], list[Frame]]:
    """About ``per_size`` frames per size, evenly spaced within each video, videos interleaved."""
    videos = sorted((root / "videos").glob("*.mp4"))
    if not videos:
        return {size: [] for size in SIZES}
    per_video = [per_size // len(videos) + (i < per_size % len(videos)) for i in range(len(videos))]
    picked: list[list[tuple[np.ndarray, str]]] = []
    for path, count in zip(videos, per_video, strict=True):
        cap = cv2.VideoCapture(str(path))
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
        wanted = set(np.linspace(0, total - 1, count, dtype=int).tolist()) if count else set()
        frames: list[tuple[np.ndarray, str]] = []
        index = 0
        while len(frames) < len(wanted):
            ok, image = cap.read()
            if not ok:
                break
            if index in wanted:
                frames.append((image, f"{path.stem}#{index}"))
            index += 1
        cap.release()
        picked.append(frames)
    ordered = [item for group in zip(*_pad(picked), strict=True) for item in group if item is not None]
    return {
        (w, h): [_make(letterbox(image, w, h), label) for image, label in ordered] for w, h in SIZES
    }


def _pad(groups: list[list[tuple[np.ndarray, str]]]) -> list[list[tuple[np.ndarray, str] | None]]:
    longest = max((len(g) for g in groups), default=0)
    return [list(g) + [None] * (longest - len(g)) for g in groups]


def face_photos(root: Path, count: int, min_side: int = 150) -> list[np.ndarray]:
    """``count`` LFW photos (BGR), one per person, in a fixed order (first photo of each person)."""
    base = root / "lfw_dev" / "original"
    photos: list[np.ndarray] = []
    for person in sorted(base.iterdir()) if base.is_dir() else []:
        files = sorted(person.glob("*.jpg"))
        image = cv2.imread(str(files[0])) if files else None
        if image is not None and min(image.shape[:2]) >= min_side:
            photos.append(image)
        if len(photos) >= count:
            break
    return photos


def tiled_frame(photos: list[np.ndarray], size: tuple[int, int] = (1280, 720), tile: int = 220) -> Frame:
    """The photos (one face each) upscaled to ``tile`` px and laid out in a grid on a grey canvas.

    Same tile size whatever the count, so the per-face work is the same in 1-, 3- and 10-face
    frames and the scaling test measures the cost of more faces, not of different faces.
    """
    width, height = size
    canvas = np.full((height, width, 3), 96, np.uint8)
    columns = max(1, min(len(photos), (width - 20) // (tile + 20)))
    rows = -(-len(photos) // columns)
    x_start = (width - columns * (tile + 20) + 20) // 2
    y_start = (height - rows * (tile + 20) + 20) // 2
    for i, photo in enumerate(photos):
        r, c = divmod(i, columns)
        x, y = x_start + c * (tile + 20), y_start + r * (tile + 20)
        canvas[y : y + tile, x : x + tile] = cv2.resize(photo, (tile, tile), interpolation=cv2.INTER_LINEAR)
    return _make(canvas, f"{len(photos)} LFW faces tiled")

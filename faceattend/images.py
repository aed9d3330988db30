"""Reading photos from disk into the one frame type: RGB uint8 HxWx3, contiguous."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".gif", ".tif", ".tiff", ".webp"}


class ImageError(ValueError):
    """A file that is not a readable image; the message names the file."""


def load_image(path: Path | str) -> np.ndarray:
    """Decode any common format (GIF and grey included) as an RGB frame."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # fromfile + imdecode: non-ASCII paths on Windows
    except OSError as error:
        raise ImageError(f"cannot read {path}: {error.strerror or error}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        image = _load_with_pillow(path)
    if image is None:
        raise ImageError(f"{path} is not an image that can be read")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def _load_with_pillow(path: Path) -> np.ndarray | None:
    """Fallback for formats OpenCV builds may lack (GIF); returns BGR like cv2."""
    try:
        from PIL import Image

        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
    except Exception:
        return None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def encode_png(image: np.ndarray) -> bytes:
    """Lossless bytes of an RGB image (aligned crops stored in the database)."""
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("could not encode image")
    return buffer.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

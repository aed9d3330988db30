"""Reading photos from disk into the one frame type: RGB uint8 HxWx3, contiguous.

A photo's size is read from its header before anything is decoded, so a decompression bomb (a
few megabytes of PNG that claim 30000x30000 pixels) is refused with a message instead of asking
for tens of gigabytes. Large photos are decoded reduced: JPEG through libjpeg's DCT scaling
(``cv2.IMREAD_REDUCED_COLOR_N``, which never builds the full-size picture), other formats at full
size and then shrunk, which is why their limit is lower.

Working size: recognition never needs many pixels. The aligned face the embedder sees is 112x112,
and the detector's smallest face is 40 px, so a photo is worked on at no more than
:data:`WORK_PIXELS` (4 MP, e.g. 2309x1732): even a face a twentieth of the photo's width is
still over 112 px there. A photo of a group (``identify``) may ask for more (see
:data:`GROUP_PIXELS`), because its faces are small.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceattend.errors import UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".gif", ".tif", ".tiff", ".webp"}

#: Photos are decoded to at most this many pixels (reasons in the module docstring).
WORK_PIXELS = 4_000_000
#: Group photos (``identify``) keep more pixels: at 8 MP (3266x2449) a face an 80th of the photo's
#: width still has the detector's minimum of 40 px, and a 12 MP phone photo loses only a fifth of
#: its width. Not more: the detector's memory grows with the pixels (a 100 MP photo worked on at
#: 16 MP peaked at 1.7 GB in ``bench/big_photos.py``).
GROUP_PIXELS = 8_000_000
#: JPEGs above this are refused. Up to it a JPEG decodes at 1/2-1/8 scale (a 200 MP phone photo
#: costs what a 3-12 MP one does), so the limit only stops absurd files.
JPEG_PIXEL_LIMIT = 200_000_000
#: Other formats decode at full size before shrinking (3 bytes a pixel): 100 MP is 300 MB.
PIXEL_LIMIT = 100_000_000
#: Files above this are not read into memory at all.
FILE_BYTES_LIMIT = 512 * 1024 * 1024


class ImageError(UserError):
    """A file that is not a readable image, or one refused (too large); the message names the file and why."""


@dataclass(frozen=True)
class Photo:
    """A decoded photo: ``image`` (RGB, maybe reduced) and the photo's own size (width, height)."""

    image: np.ndarray
    original_size: tuple[int, int]

    @property
    def scale(self) -> float:
        """image pixels per original pixel (1.0 when read at full size); divide boxes by it."""
        return max(self.image.shape[:2]) / max(self.original_size)


def load_image(path: Path | str, max_pixels: int = WORK_PIXELS) -> np.ndarray:
    """Decode any common format (GIF and grey included) as an RGB frame of at most ``max_pixels``."""
    return load_photo(path, max_pixels).image


def load_photo(path: Path | str, max_pixels: int = WORK_PIXELS) -> Photo:
    """Like :func:`load_image`, also telling the photo's own size (to map boxes back onto it).

    Raises :class:`ImageError` (never anything else) for a missing, unreadable, corrupt or
    oversized file, so a batch can report the one photo and go on.
    """
    path = Path(path)
    data = _read_bytes(path)
    size = _header_size(path, data)
    limit = JPEG_PIXEL_LIMIT if _is_jpeg(data) else PIXEL_LIMIT
    if size is not None and size[0] * size[1] > limit:
        raise ImageError(f"{path} is {size[0]}x{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} MP); "
                         f"photos above {limit / 1e6:.0f} MP are refused (shrink it first)")
    factor = _reduction(size, max_pixels) if size is not None else 1
    try:
        image = _decode_opencv(data, factor) if data.size else None
        if image is None:
            image = _decode_pillow(data, factor)
    except (cv2.error, MemoryError) as error:
        raise ImageError(f"{path} could not be decoded ({_first_line(error)})") from None
    if image is None:
        raise ImageError(f"{path} is not an image that can be read")
    image = _shrink(image, max_pixels)
    rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return Photo(rgb, size or (int(image.shape[1]), int(image.shape[0])))


def _read_bytes(path: Path) -> np.ndarray:
    try:
        if path.stat().st_size > FILE_BYTES_LIMIT:
            raise ImageError(f"{path} is larger than {FILE_BYTES_LIMIT >> 20} MB; it is not read")
        return np.fromfile(path, dtype=np.uint8)  # fromfile + imdecode: non-ASCII paths on Windows
    except OSError as error:
        raise ImageError(f"cannot read {path}: {error.strerror or error}") from None


def _header_size(path: Path, data: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from the header alone; None when it cannot be told (then decoding decides)."""
    if _is_jpeg(data):
        return _jpeg_size(data)
    if data.size >= 24 and bytes(data[:8]) == b"\x89PNG\r\n\x1a\n" and bytes(data[12:16]) == b"IHDR":
        return int.from_bytes(bytes(data[16:20]), "big"), int.from_bytes(bytes(data[20:24]), "big")
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data.tobytes())) as img:  # reads the header only
                return int(img.size[0]), int(img.size[1])
    except Image.DecompressionBombError:  # Pillow will not even open it (over 2 x 89 MP): over our limit too
        raise ImageError(f"{path} claims more than {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} MP; "
                         f"photos above {PIXEL_LIMIT / 1e6:.0f} MP are refused (shrink it first)") from None
    except Exception:
        return None


def _jpeg_size(data: np.ndarray) -> tuple[int, int] | None:
    """The frame size in a JPEG's SOF marker (Pillow's own check would refuse a real 200 MP photo)."""
    raw = data[: 1 << 20].tobytes()  # EXIF thumbnails come before SOF but within the first 64 KB or so
    at = 2
    while at + 9 <= len(raw):
        if raw[at] != 0xFF:
            return None
        marker = raw[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(raw[at + 2:at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(raw[at + 5:at + 7], "big")
            width = int.from_bytes(raw[at + 7:at + 9], "big")
            return (width, height) if width and height else None
        at += 2 + length
    return None


def _is_jpeg(data: np.ndarray) -> bool:
    return data.size >= 3 and bytes(data[:3]) == b"\xff\xd8\xff"


def _reduction(size: tuple[int, int], max_pixels: int) -> int:
    """The largest of 1, 2, 4, 8 that still leaves at least ``max_pixels`` (the rest is a resize)."""
    pixels = size[0] * size[1]
    factor = 1
    while factor < 8 and pixels / (2 * factor) ** 2 >= max_pixels:
        factor *= 2
    return factor


_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}


def _decode_opencv(data: np.ndarray, factor: int) -> np.ndarray | None:
    return cv2.imdecode(data, _REDUCED[factor])


def _decode_pillow(data: np.ndarray, factor: int) -> np.ndarray | None:
    """Fallback for formats OpenCV builds may lack (GIF); returns BGR like cv2."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data.tobytes())) as img:
            if factor > 1 and img.format == "JPEG":
                img.draft("RGB", (img.size[0] // factor, img.size[1] // factor))
            rgb = np.asarray(img.convert("RGB"))
    except Exception:
        return None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _shrink(image: np.ndarray, max_pixels: int) -> np.ndarray:
    height, width = image.shape[:2]
    if width * height <= max_pixels:
        return image
    ratio = math.sqrt(max_pixels / (width * height))
    size = (max(1, int(width * ratio)), max(1, int(height * ratio)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1].strip() if text else type(error).__name__


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
    if image is None:
        raise ImageError("a stored face image cannot be decoded (the database may be damaged)")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

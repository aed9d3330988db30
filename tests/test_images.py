"""Reading photos: huge ones decode reduced, bombs and corrupt files are refused with a reason.

The large and hostile files are generated here. Each is read in a subprocess whose address space
is capped, so a regression (a full-size decode, a 21 GB allocation) fails the test instead of
swapping the machine, and whose peak memory is measured.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend.images import (
    GROUP_PIXELS,
    JPEG_PIXEL_LIMIT,
    PIXEL_LIMIT,
    WORK_PIXELS,
    ImageError,
    load_image,
    load_photo,
)

from conftest import REPO, data_path

#: What one read may add to the process's peak memory. A 100 MP photo decoded at full size needs
#: 300 MB for the BGR picture alone (578 MB measured before the reduced decoding was added).
READ_BUDGET_MB = 150
#: The address-space cap of the reading process, above what it has mapped before reading.
ADDRESS_CAP_MB = 1500

_READER = """
import json, resource, sys
import cv2
from faceattend.images import ImageError, load_photo
def mapped():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
cap = mapped() + int(sys.argv[2]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    photo = load_photo(sys.argv[1], int(sys.argv[3]))
    out = {"shape": list(photo.image.shape), "original": list(photo.original_size)}
except ImageError as error:
    out = {"error": str(error)}
out["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(out))
"""


def read_capped(path: Path, max_pixels: int = WORK_PIXELS) -> dict:
    """load_photo(path) in a fresh process with its address space capped; its result and memory cost."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the memory cap uses Linux's /proc and RLIMIT_AS")
    done = subprocess.run([sys.executable, "-c", _READER, str(path), str(ADDRESS_CAP_MB), str(max_pixels)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid PNG header claiming width x height RGB pixels, with a few rows of zeros: a tiny file."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * width) * 4, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows)
                     + png_chunk(b"IEND", b""))
    return path


def gradient(width: int, height: int) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[...] = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    image[..., 1] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    return image


@pytest.fixture(scope="module")
def photo_100mp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "100mp.jpg"
    ok, data = cv2.imencode(".jpg", gradient(10000, 10000))
    assert ok
    data.tofile(path)
    return path


def test_100_megapixel_jpeg_decodes_reduced_for_the_cost_of_a_small_one(photo_100mp: Path) -> None:
    result = read_capped(photo_100mp)
    assert "error" not in result, result
    assert result["original"] == [10000, 10000]
    height, width, _ = result["shape"]
    assert width == height and width * height <= WORK_PIXELS and width >= 1900
    assert result["peak_mb"] < READ_BUDGET_MB, result


def test_group_photos_keep_more_pixels(photo_100mp: Path) -> None:
    result = read_capped(photo_100mp, GROUP_PIXELS)
    height, width, _ = result["shape"]
    assert GROUP_PIXELS * 0.95 <= width * height <= GROUP_PIXELS
    assert result["peak_mb"] < READ_BUDGET_MB, result


@pytest.mark.parametrize("width, height", [(30000, 30000), (60000, 60000), (12000, 9000)])
def test_png_bombs_are_refused_from_the_header(tmp_path: Path, width: int, height: int) -> None:
    bomb = write_png_bomb(tmp_path / "bomb.png", width, height)
    assert bomb.stat().st_size < 100_000
    result = read_capped(bomb)
    assert "refused" in result.get("error", ""), result
    assert str(bomb) in result["error"] and f"{PIXEL_LIMIT // 1_000_000} MP" in result["error"]
    assert result["peak_mb"] < 50, result


def test_jpeg_over_its_limit_is_refused(tmp_path: Path) -> None:
    small = tmp_path / "small.jpg"
    cv2.imwrite(str(small), gradient(64, 48))
    data = bytearray(small.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)  # the header now claims 3600 MP
    bomb = tmp_path / "claims.jpg"
    bomb.write_bytes(bytes(data))
    assert 60000 * 60000 > JPEG_PIXEL_LIMIT
    with pytest.raises(ImageError, match=r"60000x60000 pixels .*refused"):
        load_image(bomb)


def test_large_png_under_the_limit_is_read_and_shrunk(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), gradient(8000, 3000))
    photo = load_photo(path)
    assert photo.original_size == (8000, 3000)
    assert photo.image.shape[0] * photo.image.shape[1] <= WORK_PIXELS
    assert photo.image.shape[1] / photo.image.shape[0] == pytest.approx(8 / 3, rel=0.01)
    assert photo.scale == pytest.approx(photo.image.shape[1] / 8000)


@pytest.mark.parametrize("content", [
    b"\xff\xd8\xff\xe0" + b"\0" * 100,  # a JPEG start, then nothing usable
    b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
    b"",
    b"plain text, not an image",
])
def test_corrupt_files_raise_image_error_with_the_name(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match="broken.jpg"):
        load_image(path)


def test_small_photos_are_untouched(tmp_path: Path) -> None:
    path = data_path("portraits", "obama", "obama.jpg")
    photo = load_photo(path)
    assert photo.original_size == (910, 1137) and photo.image.shape == (1137, 910, 3) and photo.scale == 1.0
    grey = tmp_path / "grey.gif"
    from PIL import Image

    Image.fromarray(np.full((20, 30), 128, np.uint8)).save(grey)
    assert load_image(grey).shape == (20, 30, 3)

"""Enrolment from a folder of awkward photos: peak memory, and what happened to each photo.

Builds, in a temporary folder outside the repository, a folder of people (a sub-folder each):
the real portraits from the shared data, plus a generated 100-megapixel photo of the same face,
a real PNG decompression bomb (2.6 MB on disk, 30000x30000 pixels, 2.7 GB decoded), a PNG header
claiming 60000x60000, and a corrupt JPEG. Runs ``faceattend enroll --folder`` on it as a
subprocess, once with the normal photos only and once with everything, and prints each run's
peak resident memory (the child process's own ``ru_maxrss``), its time, and its output.

    .venv/bin/python bench/big_photos.py [--data ../shared/data]

Target (issue #14): every normal photo enrolled, each bad one reported with its reason, and a
peak under 1.5 GB. The README quotes ``bench/results/2026-12-03-big-photos.txt``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
TARGET_MB = 1536


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, width: int, height: int, rows: int | None = None) -> None:
    """An RGB PNG of zeros; ``rows`` < height writes only that many rows (a header-only bomb)."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)
    body = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body)
                     + png_chunk(b"IEND", b""))


def huge_photo(source: Path, path: Path, pixels: int = 100_000_000) -> None:
    """The source photo enlarged to about ``pixels`` (a phone's 100 MP mode of the same scene)."""
    image = cv2.imread(str(source))
    scale = (pixels / (image.shape[0] * image.shape[1])) ** 0.5
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])


def build(data: Path, root: Path) -> tuple[Path, Path]:
    """(normal-only folder, mixed folder)."""
    normal, mixed = root / "normal", root / "mixed"
    people = {"Barack Obama": sorted((data / "portraits" / "obama").glob("*.jpg")),
              "Joe Biden": [data / "portraits" / "biden" / "biden.jpg"]}
    for folder in (normal, mixed):
        for name, photos in people.items():
            (folder / name).mkdir(parents=True)
            for photo in photos:
                shutil.copy(photo, folder / name / photo.name)
    huge_photo(people["Barack Obama"][0], mixed / "Barack Obama" / "obama_100mp.jpg")
    png_bomb(mixed / "Joe Biden" / "bomb_30000x30000.png", 30000, 30000)
    png_bomb(mixed / "Joe Biden" / "header_60000x60000.png", 60000, 60000, rows=4)
    good = (data / "portraits" / "biden" / "biden.jpg").read_bytes()
    (mixed / "Joe Biden" / "corrupt.jpg").write_bytes(good[: len(good) // 50] + os.urandom(4000))
    return normal, mixed


def describe(folder: Path) -> list[str]:
    from PIL import Image

    lines = []
    for path in sorted(folder.rglob("*.*")):
        try:
            Image.MAX_IMAGE_PIXELS = None  # only to describe the files here; the app never does this
            with Image.open(path) as img:
                size = f"{img.size[0]}x{img.size[1]} ({img.size[0] * img.size[1] / 1e6:.1f} MP)"
        except Exception:
            size = "unreadable"
        lines.append(f"  {path.relative_to(folder)}: {path.stat().st_size / 1e6:.2f} MB on disk, {size}")
    return lines


def faceattend(work: Path, *args: str) -> tuple[int, float, float, str]:
    """(rc, seconds, peak RSS in MB, output) of ``faceattend ARGS`` with its data in ``work``."""
    env = dict(os.environ, FACEATTEND_DATA_DIR=str(work), QT_QPA_PLATFORM="offscreen")
    log = work / f"out-{args[0]}.txt"
    started = time.perf_counter()
    with open(log, "w") as out:
        child = subprocess.Popen([sys.executable, "-m", "faceattend", "--db", str(work / "bench.db"), *args],
                                 stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the generator's
    return os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss / 1024, log.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("FACEATTEND_TEST_DATA",
                                                                          REPO.parent / "shared" / "data")))
    args = parser.parse_args()
    if not (args.data / "portraits").is_dir():
        print(f"the shared data is not at {args.data} (give --data)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="faceattend-big-photos-"))
    try:
        print(f"# bench/big_photos.py, {time.strftime('%Y-%m-%d %H:%M')}, cpu count {os.cpu_count()}")
        normal, mixed = build(args.data, root)
        peaks = {}
        for label, folder in (("normal photos only", normal), ("normal + 100 MP + bombs + corrupt", mixed)):
            work = root / f"work-{folder.name}"
            work.mkdir()
            print(f"\n## {label}\n" + "\n".join(describe(folder)))
            runs = [("enroll --folder", ("enroll", "--folder", str(folder))),
                    ("identify (every photo, one call)", ("identify", *map(str, sorted(folder.rglob("*.*")))))]
            for what, command in runs:
                rc, seconds, peak, output = faceattend(work, *command)
                peaks[f"{label}, {command[0]}"] = peak
                print(f"faceattend {what}: rc {rc}, {seconds:.1f} s, peak RSS {peak:.0f} MB")
                print("\n".join(f"  | {line.replace(str(folder) + '/', '')}" for line in output.strip().splitlines()))
        worst = max(peaks.values())
        print(f"\npeak RSS: {', '.join(f'{k}: {v:.0f} MB' for k, v in peaks.items())}; "
              f"target < {TARGET_MB} MB: {'met' if worst < TARGET_MB else 'NOT met'}")
        return 0 if worst < TARGET_MB else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

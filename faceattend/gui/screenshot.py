"""Make docs/screenshot.png: the real window recognising a performer in the shared sample video.

Run under a display (``scripts/screenshot.sh`` starts Xvfb when there is none). Everything goes
into a temporary data folder: the user's own database is never touched.

    python -m faceattend.gui.screenshot [OUTPUT.png] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAME = "Lin-Manuel Miranda"


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default=str(REPO / "docs" / "screenshot.png"))
    default_data = os.environ.get("FACEATTEND_TEST_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", default=default_data, help="the shared data folder (videos/)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a recognition")
    parser.add_argument("--tabs", action="store_true", help="also save the People and Attendance tabs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    video = Path(args.data) / "videos" / "short_hamilton_clip.mp4"
    photo = Path(args.data) / "videos" / "hamilton_refs" / "lin-manuel-miranda.png"
    if not video.is_file() or not photo.is_file():
        print(f"the sample video or photo is missing under {args.data}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="faceattend-shot-") as tmp:
        os.environ["FACEATTEND_DATA_DIR"] = tmp
        return _shoot(video, photo, Path(args.output), args.timeout, args.tabs)


def _shoot(video: Path, photo: Path, output: Path, timeout: float, tabs: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from faceattend.config import Settings
    from faceattend.enrol import enrol_photos
    from faceattend.gui.app import app_icon, share_cpu
    from faceattend.gui.main_window import MainWindow
    from faceattend.pipeline import load_recognizer
    from faceattend.store import Store

    app = QApplication.instance() or QApplication(["faceattend"])
    assert isinstance(app, QApplication)
    app.setWindowIcon(app_icon())
    share_cpu()
    settings = Settings()
    recognizer = load_recognizer(settings)
    with Store(settings.database_path()) as store:
        enrol_photos(store, recognizer, NAME, [photo], external_id="LMM-1", group="Cast")
    window = MainWindow(settings, recognizer=recognizer, source=str(video))
    window.resize(1280, 760)
    window.show()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not _good_moment(window):
        app.processEvents()
        time.sleep(0.01)
    if not _good_moment(window):
        print("no recognition in time; the screenshot was not taken", file=sys.stderr)
        window.close()
        return 1
    window.live.check_in()
    _pump(app, 0.4)
    output.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(output))
    for index, name in ((1, "people"), (2, "attendance")) if tabs else ():
        window.tabs.setCurrentIndex(index)
        _pump(app, 0.2)
        window.grab().save(str(output.with_name(f"{output.stem}-{name}{output.suffix}")))
    window.close()
    print(f"{'wrote' if ok else 'could not write'} {output}")
    return 0 if ok else 1


def _good_moment(window: object) -> bool:
    """The performer named, close enough to the camera that the box is easy to see."""
    faces = window.live.view.faces  # type: ignore[attr-defined]
    return any(f.match.name == NAME and f.detection.width > 70 for f in faces)


def _pump(app: object, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())

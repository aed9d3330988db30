"""How responsive the window stays while it recognises a video: the GUI thread's longest stall.

Runs the real main window (offscreen unless a display is given) on a video used as the camera,
with the performer of the sample clip enrolled, for ``--seconds`` (30 by default), and prints:

- the longest gap between the window's 20 ms heartbeats (``MainWindow.stall_monitor``): the
  longest time a click or a repaint would have waited;
- the display frame rate (frames painted per second) and the capture rate;
- the recognition latency per processed frame (mean, median, 95th percentile) and how many
  frames per second recognition got through (it always takes the newest frame, skipping others).

    .venv/bin/python bench/gui_stall.py [--video FILE] [--seconds 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from faceattend.paths import shared_data_dir  # noqa: E402
from faceattend.runtime import configure_process  # noqa: E402

configure_process()  # before numpy and torch load, as the app's entry points do
DATA = shared_data_dir()
import numpy as np  # noqa: E402


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="GUI thread stalls during live recognition")
    parser.add_argument("--video", default=str(DATA / "videos" / "short_hamilton_clip.mp4"))
    parser.add_argument("--enrol", default=str(DATA / "videos" / "hamilton_refs" / "lin-manuel-miranda.png"),
                        help="a photo of someone in the video, enrolled first ('' for nobody)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser.parse_args()


def main() -> int:
    args = _parse()
    if not Path(args.video).is_file():
        print(f"video not found: {args.video} (set FACEATTEND_TEST_DATA)", file=sys.stderr)
        return 2
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="faceattend-bench-") as tmp:
        os.environ["FACEATTEND_DATA_DIR"] = tmp
        result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['seconds']:.0f} s of {Path(args.video).name} on {result['device']} "
              f"({result['torch_threads']} torch threads, {os.cpu_count()} cores)")
        print(f"longest GUI stall   {result['longest_stall_ms']:.0f} ms "
              f"({result['stalls_over_100ms']} gaps over 100 ms; heartbeat every 20 ms)")
        print(f"display             {result['display_fps']:.1f} fps (capture {result['capture_fps']:.1f} fps)")
        print(f"recognition         {result['latency_ms_mean']:.0f} ms mean, {result['latency_ms_p50']:.0f} ms median, "
              f"{result['latency_ms_p95']:.0f} ms p95; {result['recognition_fps']:.1f} frames/s recognised")
    return 0


def run(args: argparse.Namespace) -> dict[str, object]:
    import torch
    from PySide6.QtWidgets import QApplication

    from faceattend.config import Settings
    from faceattend.enrol import enrol_photos
    from faceattend.gui.app import share_cpu
    from faceattend.gui.main_window import MainWindow
    from faceattend.pipeline import load_recognizer
    from faceattend.store import Store

    app = QApplication.instance() or QApplication(["faceattend-bench"])
    share_cpu()  # as the app does
    settings = Settings(device=args.device)
    recognizer = load_recognizer(settings)
    if args.enrol:
        with Store(settings.database_path()) as store:
            enrol_photos(store, recognizer, "Enrolled person", [Path(args.enrol)])
    window = MainWindow(settings, recognizer=recognizer, source=args.video)
    window.resize(1280, 760)
    window.show()
    latencies: list[float] = []
    _pump(app, lambda: window.live.view.frames_shown > 0, 60.0)  # opening is not part of the run
    assert window.recognition is not None and window.capture is not None
    window.recognition.result.connect(lambda _faces, ms, _seq: latencies.append(ms))
    window.stall_monitor.reset()
    shown0, captured0, started = window.live.view.frames_shown, window.capture.frames, time.perf_counter()
    _pump(app, lambda: False, args.seconds)
    elapsed = time.perf_counter() - started
    result = {
        "seconds": elapsed, "device": str(recognizer.embedder.device), "torch_threads": torch.get_num_threads(),
        "longest_stall_ms": window.stall_monitor.longest_ms,
        "stalls_over_100ms": window.stall_monitor.stalls_over_100ms,
        "display_fps": (window.live.view.frames_shown - shown0) / elapsed,
        "capture_fps": (window.capture.frames - captured0) / elapsed,
        "recognition_fps": len(latencies) / elapsed,
        "latency_ms_mean": float(np.mean(latencies)) if latencies else float("nan"),
        "latency_ms_p50": float(np.percentile(latencies, 50)) if latencies else float("nan"),
        "latency_ms_p95": float(np.percentile(latencies, 95)) if latencies else float("nan"),
    }
    window.close()
    return result


def _pump(app: object, done: object, seconds: float) -> None:
    """Run the Qt event loop, as app.exec() does, until ``done()`` or the time is up."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    end = time.perf_counter() + seconds

    def check() -> None:
        if done() or time.perf_counter() >= end:  # type: ignore[operator]
            loop.quit()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(50)
    loop.exec()
    poll.stop()

if __name__ == "__main__":
    sys.exit(main())

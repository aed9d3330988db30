"""References to ``None`` held by the recognition core alone, with no Qt: does it leak them?

The window's health log (bench/soak.py) shows ``sys.getrefcount(None)`` rising slowly. This runs the
Hamilton clip through ``LiveRecognizer`` (the live loop the window uses, one enrolled performer so
faces are named) for a few loops and prints the change in ``None``'s reference count and in the
number of tracked objects per loop: flat means the rise comes from somewhere else (the GUI).

    .venv/bin/python bench/none_refs.py [--loops 4]
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from faceattend.paths import shared_data_dir  # noqa: E402
from faceattend.runtime import configure_process  # noqa: E402

configure_process()  # before numpy and torch load, as the app's entry points do
DATA = shared_data_dir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=4)
    args = parser.parse_args(argv)


    from faceattend.config import Settings
    from faceattend.images import load_image
    from faceattend.live import LiveRecognizer
    from faceattend.match import Gallery
    from faceattend.pipeline import load_recognizer
    from faceattend.video_eval import video_frames

    recognizer = load_recognizer(Settings(device="cpu"))
    face = recognizer.single_face(load_image(DATA / "videos" / "hamilton_refs" / "lin-manuel-miranda.png"))
    recognizer.gallery = Gallery(face.embedding[None, :], [1], {1: "Lin-Manuel Miranda"})
    frames = [frame for _, frame in video_frames(DATA / "videos" / "short_hamilton_clip.mp4")]
    live, t = LiveRecognizer(recognizer), 0.0
    print(f"none_refs: {len(frames)} frames a loop, one person enrolled")
    for loop in range(args.loops):
        gc.collect()
        refs, objects = sys.getrefcount(None), len(gc.get_objects())
        named = 0
        for frame in frames:
            named += sum(f.named for f in live.process(frame, t))
            t += 1 / 30
        gc.collect()
        print(f"loop {loop + 1}: None references {sys.getrefcount(None) - refs:+d}, "
              f"tracked objects {len(gc.get_objects()) - objects:+d}, named faces shown {named}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

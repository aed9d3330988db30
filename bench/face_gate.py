"""What the live loop's "does it look like a face" gate drops: real faces (recall) and non-faces.

Before a new detection is embedded, ``faceattend.live.looks_like_a_face`` drops it when ONet's
score is below ``--min-score`` or its five points are further than ``--max-landmark-error`` from
a frontal face's (text, tableware). This measures, with the app's detector (min face 40 px):

- dlib's detection set (``detection_dlib/{training,testing}.xml``, every face boxed by hand): the
  boxed faces found (a detection with IoU >= 0.4), before and after the gate, and the detections
  that match no boxed face (false ones; some are real faces the annotators skipped);
- LFW (``lfw_dev/deepfunneled``, every ``--lfw-step``-th photo): the photo's own face (the
  detection over the centre) found before and after the gate;
- the sample videos, every frame (scaled to at most 960 px): detections before and after, and,
  with the Hamilton clip's performer and Obama enrolled, how many *named* faces the gate drops.

    .venv/bin/python bench/face_gate.py [--min-score 0.9] [--max-landmark-error 14] [--lfw-step 10]
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from faceattend.paths import shared_data_dir  # noqa: E402
from faceattend.runtime import configure_process  # noqa: E402

configure_process()  # before numpy and torch load, as the app's entry points do
DATA = shared_data_dir()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    from faceattend.live import MAX_LANDMARK_ERROR, MIN_SCORE

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--min-score", type=float, default=MIN_SCORE)
    p.add_argument("--max-landmark-error", type=float, default=MAX_LANDMARK_ERROR)
    p.add_argument("--lfw-step", type=int, default=10, help="every n-th LFW photo (sorted by path)")
    return p.parse_args(argv)


def rgb(path: Path) -> Any:
    import cv2
    import numpy as np

    return np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def dlib_set(detector: Any, keep: Any) -> str:
    from faceattend.live import box_iou

    truth = found = found_kept = false = false_kept = 0
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(DATA / "detection_dlib" / name).getroot().iter("image"):
            boxes = [(float(b.get("left")), float(b.get("top")), float(b.get("left")) + float(b.get("width")),
                      float(b.get("top")) + float(b.get("height"))) for b in image.iter("box")]
            detections = detector.detect(rgb(DATA / "detection_dlib" / image.get("file")))
            truth += len(boxes)
            for box in boxes:
                hits = [d for d in detections if box_iou(box, d.box) >= 0.4]
                found += bool(hits)
                found_kept += any(keep(d) for d in hits)
            for d in detections:
                if all(box_iou(box, d.box) < 0.4 for box in boxes):
                    false += 1
                    false_kept += keep(d)
    return (f"dlib detection set: {truth} boxed faces, found {found} before the gate, {found_kept} after; "
            f"{false} unmatched detections before, {false_kept} after")


def lfw(detector: Any, keep: Any, step: int) -> str:
    photos = sorted((DATA / "lfw_dev" / "deepfunneled").glob("*/*.jpg"))[::step]
    found = kept = 0
    for path in photos:
        image = rgb(path)
        cy, cx = image.shape[0] / 2, image.shape[1] / 2
        own = [d for d in detector.detect(image) if d.box[0] <= cx <= d.box[2] and d.box[1] <= cy <= d.box[3]]
        found += bool(own)
        kept += any(keep(d) for d in own)
    return f"LFW: {len(photos)} photos, own face found in {found} before the gate, {kept} after"


def videos(recognizer: Any, keep: Any) -> list[str]:
    import numpy as np

    from bench.wrong_names import frames_of
    from faceattend.match import Gallery

    refs = DATA / "videos" / "hamilton_refs"
    rows = [recognizer.single_face(rgb(refs / "lin-manuel-miranda.png")).embedding,
            recognizer.single_face(rgb(DATA / "portraits" / "obama" / "obama.jpg")).embedding]
    recognizer.gallery = Gallery(np.stack(rows), [1, 2], {1: "Lin-Manuel Miranda", 2: "Barack Obama"})
    lines = []
    for name in ("short_hamilton_clip.mp4", "dunai_my_video.mp4", "facenet_pytorch_video.mp4"):
        frames, _ = frames_of(DATA / "videos" / name, 960)
        total = kept = named = named_dropped = 0
        for frame in frames:
            faces = recognizer.faces(frame)
            total += len(faces)
            kept += sum(keep(f.detection) for f in faces)
            named += sum(f.match.known for f in faces)
            named_dropped += sum(f.match.known and not keep(f.detection) for f in faces)
        lines.append(f"{name}: {len(frames)} frames, {total} detections, {kept} pass the gate; "
                     f"{named} named (Lin or Obama), {named_dropped} of them dropped by the gate")
    return lines


def main() -> int:
    import torch

    from faceattend.config import Settings
    from faceattend.live import looks_like_a_face
    from faceattend.pipeline import load_recognizer

    torch.set_num_threads(1)
    args = parse()
    recognizer = load_recognizer(Settings(device="cpu"))

    def keep(detection: Any) -> bool:
        return looks_like_a_face(detection, args.min_score, args.max_landmark_error)

    print(f"gate: detector score >= {args.min_score}, landmark error <= {args.max_landmark_error}")
    print(dlib_set(recognizer.detector, keep))
    print(lfw(recognizer.detector, keep, args.lfw_step))
    for line in videos(recognizer, keep):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

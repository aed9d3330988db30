"""When is an enrolment photo's face "cut off by the photo's edge"? Chosen on some people, reported on others.

An ID photo is often cropped tightly around the face: the padding in ``Recognizer.single_face``
makes its embedding almost the same as the uncropped photo's, so a tight crop must not be called
weak. A photo that cuts *into* the face (half the chin, one eye at the edge) does lose identity.
For one photo of each LFW person (``lfw_dev/deepfunneled``, 250x250 with the face in the middle)
this makes: the tight crop (the detector's box), and crops that cut a further 10-50% of the box
away on one side (top, bottom, left, right). Each goes through the app's enrolment path (padding,
detection, alignment, embedding) and is compared with the uncropped photo's embedding (cosine).
Two measures of "cut off" are printed for each: the share of the whole 112x112 aligned crop that
lies outside the photo (the rule until now) and the share of its *face* region (eyebrows to chin,
cheek to cheek: the rows and columns ``quality.sharpness`` measures) that does.

People are split by name: those sorting before "M" choose the limit (the smallest value at which
crops with a cosine under ``--weak-cosine`` to their uncropped photo are flagged and tight crops are
not), the others report it.

    .venv/bin/python bench/cutoff_gate.py [--people 80]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from faceattend.paths import shared_data_dir  # noqa: E402
from faceattend.runtime import configure_process  # noqa: E402

configure_process()  # before numpy and torch load, as the app's entry points do
DATA = shared_data_dir()
import numpy as np  # noqa: E402

CUTS = (0.1, 0.2, 0.3, 0.4, 0.5)
SIDES = ("top", "bottom", "left", "right")


def face_outside(landmarks: np.ndarray, shape: tuple[int, ...]) -> float:
    from faceattend.align import crop_footprint
    from faceattend.quality import FACE_COLS, FACE_ROWS

    points = crop_footprint(landmarks).reshape(112, 112, 2)[FACE_ROWS, FACE_COLS].reshape(-1, 2)
    height, width = shape[:2]
    inside = (points[:, 0] >= 0) & (points[:, 0] <= width - 1) & (points[:, 1] >= 0) & (points[:, 1] <= height - 1)
    return float(1.0 - inside.mean())


def variants(image: np.ndarray, box: tuple[float, ...]) -> dict[str, np.ndarray]:
    x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
    x1, y1 = max(0, x1), max(0, y1)
    x2, y2 = min(image.shape[1], x2), min(image.shape[0], y2)
    out = {"tight": image[y1:y2, x1:x2]}
    w, h = x2 - x1, y2 - y1
    for cut in CUTS:
        out[f"top {cut:.0%}"] = image[y1 + int(cut * h):y2, x1:x2]
        out[f"bottom {cut:.0%}"] = image[y1:y2 - int(cut * h), x1:x2]
        out[f"left {cut:.0%}"] = image[y1:y2, x1 + int(cut * w):x2]
        out[f"right {cut:.0%}"] = image[y1:y2, x1:x2 - int(cut * w)]
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def measure(people: list[Path]) -> list[tuple[str, str, float, float, float]]:
    """(person, variant, cosine to the uncropped photo, crop outside, face outside) per variant."""
    import cv2

    from faceattend.align import outside_fraction
    from faceattend.config import Settings
    from faceattend.pipeline import FaceCountError, load_recognizer

    recognizer = load_recognizer(Settings(device="cpu"))
    rows = []
    for folder in people:
        photo = sorted(folder.glob("*.jpg"))[0]
        image = np.ascontiguousarray(cv2.imread(str(photo))[:, :, ::-1])
        try:
            whole = recognizer.single_face(image)
        except FaceCountError:
            continue
        for name, crop in variants(image, whole.detection.box).items():
            try:
                face = recognizer.single_face(crop)
            except FaceCountError:
                rows.append((folder.name, name, float("nan"), float("nan"), float("nan")))
                continue
            cosine = float(np.dot(face.embedding, whole.embedding))
            rows.append((folder.name, name, cosine, outside_fraction(face.detection.landmarks, crop.shape),
                         face_outside(face.detection.landmarks, crop.shape)))
    return rows


def flagged(rows: list[tuple[str, str, float, float, float]], column: int, limit: float, weak_cosine: float
            ) -> tuple[float, float, float]:
    """(tight crops flagged, weak crops flagged, good crops flagged) as shares."""
    tight = [r for r in rows if r[1] == "tight" and r[2] == r[2]]
    weak = [r for r in rows if r[2] == r[2] and r[2] < weak_cosine]
    good = [r for r in rows if r[2] == r[2] and r[2] >= weak_cosine and r[1] != "tight"]

    def share(group: list[tuple[str, str, float, float, float]]) -> float:
        return sum(r[column] > limit for r in group) / len(group) if group else float("nan")

    return share(tight), share(weak), share(good)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=80, help="people per half (one photo each)")
    parser.add_argument("--weak-cosine", type=float, default=0.8,
                        help="a crop whose embedding is less similar than this to the uncropped photo's is weak")
    args = parser.parse_args(argv)
    folders = sorted(p for p in (DATA / "lfw_dev" / "deepfunneled").iterdir() if p.is_dir())
    first, second = [p for p in folders if p.name < "M"], [p for p in folders if p.name >= "M"]
    choose = first[:: max(1, len(first) // args.people)][: args.people]
    report = second[:: max(1, len(second) // args.people)][: args.people]
    print(f"cutoff_gate: {len(choose)} people choose (A-L), {len(report)} report (M-Z); "
          f"weak = cosine < {args.weak_cosine}")
    results = {"choose": measure(choose), "report": measure(report)}
    for half, rows in results.items():
        print(f"\n{half}: median over people (cosine to the uncropped photo / crop outside / face outside; "
              "no face = not found)")
        for variant in ["tight", *(f"{s} {c:.0%}" for c in CUTS for s in SIDES)]:
            group = [r for r in rows if r[1] == variant]
            found = [r for r in group if r[2] == r[2]]
            if not found:
                print(f"  {variant:12} no face found in any")
                continue
            print(f"  {variant:12} cosine {statistics.median(r[2] for r in found):.3f}  "
                  f"crop outside {statistics.median(r[3] for r in found):.2f}  "
                  f"face outside {statistics.median(r[4] for r in found):.2f}  "
                  f"(no face {len(group) - len(found)}/{len(group)})")
    limits = [round(x, 2) for x in np.arange(0.0, 0.61, 0.02)]
    for column, label in ((3, "crop outside"), (4, "face outside")):
        print(f"\nrule '{label} > limit': limit chosen on 'choose' = "
              "the lowest flagging no more than 5% of tight crops")
        best = next((lim for lim in limits if flagged(results["choose"], column, lim, args.weak_cosine)[0] <= 0.05),
                    limits[-1])
        for half in ("choose", "report"):
            tight, weak, good = flagged(results[half], column, best, args.weak_cosine)
            print(f"  limit {best:.2f} on {half:6}: tight crops flagged {tight:.0%}, weak crops flagged {weak:.0%}, "
                  f"other (not weak) cut crops flagged {good:.0%}")
        if column == 3:
            tight, weak, good = flagged(results["report"], column, 0.25, args.weak_cosine)
            print(f"  the old limit 0.25 on report: tight {tight:.0%}, weak {weak:.0%}, other {good:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

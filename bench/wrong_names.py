"""Wrong names in the live window: frames where a face is shown with a name its own embedding would not give.

The live tracker embeds a face now and then and carries its name between embeddings; a name
carried across a scene cut, or onto another face at the same place, is a wrong name on screen
(and, with automatic check-in, a wrong person in the register). This runs
``faceattend.live.LiveRecognizer`` over every frame of each sample video, on the video's own
timeline (frame i at i/fps s), with a gallery of the performer of ``short_hamilton_clip.mp4``
(Lin-Manuel Miranda, one reference photo) plus distractors (Obama and Biden portraits, the
first ``--lfw`` LFW people by name, one photo each). For every face shown with a name, it embeds
that face in that very frame and checks that its own match names the same person.

It also runs the automatic check-in rules on the same results (check-in time = the video time)
and lists who would be checked in: in these videos only Lin-Manuel Miranda (in the Hamilton
clip) is enrolled and present, so any other check-in is a false one.

    .venv/bin/python bench/wrong_names.py [--videos a.mp4 ...] [--lfw 40] [--max-side 960] [--json FILE]
        [--threshold T] [--rules N:margin,...] [--lfw-skip K] [--live-module old_live.py]

Frames larger than ``--max-side`` are scaled down first (the selfie and street videos are
1080x1920 and 1920x1080; a webcam gives 640x480): the figures are about names, not speed.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from faceattend.paths import shared_data_dir  # noqa: E402
from faceattend.runtime import configure_process  # noqa: E402

configure_process()  # before numpy and torch load, as the app's entry points do
DATA = shared_data_dir()
VIDEOS = ("short_hamilton_clip.mp4", "dunai_my_video.mp4", "facenet_pytorch_video.mp4")
PERFORMER = "Lin-Manuel Miranda"
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", nargs="*", default=list(VIDEOS), help="file names under <data>/videos")
    p.add_argument("--lfw", type=int, default=40, help="LFW people enrolled as distractors (one photo each)")
    p.add_argument("--lfw-skip", type=int, default=0, help="skip this many LFW people first (a disjoint set)")
    p.add_argument("--rules", default="", help="extra automatic check-in rules to replay, N:margin,... "
                   "(e.g. 1:0,2:0.05,3:0.08); the default rules always run")
    p.add_argument("--max-side", type=int, default=960, help="scale frames down to this longest side")
    p.add_argument("--threshold", type=float, help="recognition threshold (default: the app's)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--json", type=Path, help="also write the figures (and per-frame evidence) to this file")
    p.add_argument("--live-module", type=Path, help="run this file as faceattend.live instead (an older tracker: "
                   "git show HEAD:faceattend/live.py > /tmp/old_live.py)")
    return p.parse_args(argv)


def frames_of(path: Path, max_side: int) -> tuple[list[Any], float]:
    import cv2
    import numpy as np

    capture = cv2.VideoCapture(str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    fps = fps if 1.0 <= fps <= 240.0 else 30.0
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        scale = max_side / max(bgr.shape[:2])
        if scale < 1.0:
            bgr = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
        frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    capture.release()
    return frames, fps


def gallery_photos(lfw: int) -> dict[str, list[Path]]:
    """Name -> enrolment photos: the performer, two portraits' people, LFW people (sorted names)."""
    people = {PERFORMER: [DATA / "videos" / "hamilton_refs" / "lin-manuel-miranda.png"],
              "Barack Obama": sorted((DATA / "portraits" / "obama").glob("*.jpg")),
              "Joe Biden": sorted((DATA / "portraits" / "biden").glob("*.jpg"))}
    lfw_root = DATA / "lfw_dev" / "deepfunneled"
    for folder in sorted(p for p in lfw_root.iterdir() if p.is_dir())[ARGS.lfw_skip:ARGS.lfw_skip + lfw]:
        people[folder.name.replace("_", " ")] = sorted(folder.glob("*.jpg"))[:1]
    return people


def build(threshold: float | None) -> Any:
    import cv2
    import numpy as np

    from faceattend.config import Settings
    from faceattend.match import Gallery
    from faceattend.pipeline import FaceCountError, load_recognizer

    recognizer = load_recognizer(Settings(device="cpu"))
    if threshold is not None:
        recognizer.threshold = threshold
    rows, ids, names = [], [], {}
    for pid, (name, photos) in enumerate(gallery_photos(ARGS.lfw).items(), start=1):
        for photo in photos:
            bgr = cv2.imread(str(photo))
            try:
                face = recognizer.single_face(np.ascontiguousarray(bgr[:, :, ::-1]), str(photo))
            except FaceCountError:
                continue
            rows.append(face.embedding)
            ids.append(pid)
            names[pid] = name
    recognizer.gallery = Gallery(np.stack(rows), ids, names)
    return recognizer


def shows_name(face: Any) -> bool:
    """Whether the window draws a name over this face (the tracker's own rule when it has one)."""
    return bool(getattr(face, "named", face.match.known))


@dataclass
class VideoResult:
    video: str
    frames: int
    fps: float
    faces_shown: int = 0
    named_shown: int = 0
    wrong_named: int = 0
    wrong_frames: list[int] = field(default_factory=list)
    wrong_examples: list[str] = field(default_factory=list)
    check_ins: dict[str, list[str]] = field(default_factory=dict)  # rules -> "name at t s (frame i)"
    evidence: list[list[dict[str, Any]]] = field(default_factory=list)  # per frame, per face (new tracker)
    seconds: float = 0.0
    embedded: int = 0  # faces the tracker embedded
    full_detections: int = 0


def run_video(recognizer: Any, name: str) -> VideoResult:
    from faceattend.live import LiveRecognizer

    frames, fps = frames_of(DATA / "videos" / name, ARGS.max_side)
    clock = [0.0]
    rule_sets = rules_to_run()
    live = LiveRecognizer(recognizer, clock=lambda: clock[0])
    if hasattr(live, "evidence_needed"):
        live.evidence_needed = max(getattr(r, "evidence_needed", 1) for r in rule_sets.values())
    takes_time = "timestamp" in inspect.signature(live.process).parameters
    result = VideoResult(name, len(frames), fps)
    inner = recognizer.recognise
    embedded = [0]

    def counting(frame: Any, detections: Any) -> Any:
        embedded[0] += len(detections)
        return inner(frame, detections)

    live.recognizer = _Counted(recognizer, counting)
    started = time.perf_counter()
    for i, frame in enumerate(frames):
        clock[0] = i / fps
        faces = live.process(frame, timestamp=i / fps) if takes_time else live.process(frame)
        result.faces_shown += len(faces)
        named = [f for f in faces if shows_name(f)]
        result.named_shown += len(named)
        if named:
            own = recognizer.recognise(frame, [f.detection for f in named])
            wrong = [(f, o) for f, o in zip(named, own, strict=True) if o.match.person_id != f.match.person_id]
            if wrong:
                result.wrong_named += len(wrong)
                result.wrong_frames.append(i)
                result.wrong_examples += [f"frame {i}: shown {f.match.name} {f.match.similarity:.2f}, own embedding "
                                          f"{o.match.label} {o.match.similarity:.2f}" for f, o in wrong]
        now = START + timedelta(seconds=i / fps)
        for key, rules in rule_sets.items():
            for face in rules.due(faces, now):
                if hasattr(rules, "recorded"):  # older trackers marked the person in due() itself
                    rules.recorded(face.match.person_id, now)
                result.check_ins.setdefault(key, []).append(f"{face.match.name} at {i / fps:.2f} s (frame {i})")
        result.evidence.append([_evidence(f) for f in faces])
    result.seconds = time.perf_counter() - started
    result.embedded, result.full_detections = embedded[0], live.full_detections
    return result


class _Counted:
    """The recognizer with its ``recognise`` counted (the tracker's embeddings, not the check's)."""

    def __init__(self, inner: Any, recognise: Any) -> None:
        self.detector, self.gallery, self.threshold = inner.detector, inner.gallery, inner.threshold
        self.recognise = recognise


def rules_to_run() -> dict[str, Any]:
    """The default automatic check-in rules, plus any given with --rules (the new tracker only)."""
    from faceattend.live import AutoCheckin

    rules = {"default": AutoCheckin()}
    for item in filter(None, ARGS.rules.split(",")):
        n, margin = item.split(":")
        rules[f"N={n} margin={margin}"] = AutoCheckin(evidence_needed=int(n), margin=float(margin))
    return rules


def _evidence(face: Any) -> dict[str, Any]:
    """What the automatic check-in rules see of a face (new tracker: its independent embeddings)."""
    row: dict[str, Any] = {"track": face.track_id, "person": face.match.person_id, "named": shows_name(face)}
    if hasattr(face, "evidence"):
        row["evidence"] = [[e.time, e.person_id, round(e.similarity, 4), round(e.margin, 4)] for e in face.evidence]
    return row


def use_live_module(path: Path) -> None:
    """Load ``path`` as ``faceattend.live``, so the same measurement runs on another version of the tracker."""
    import importlib.util

    import faceattend  # noqa: F401

    spec = importlib.util.spec_from_file_location("faceattend.live", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["faceattend.live"] = module
    spec.loader.exec_module(module)


def main() -> int:
    import torch

    if ARGS.live_module:
        use_live_module(ARGS.live_module)
    torch.set_num_threads(ARGS.threads)
    recognizer = build(ARGS.threshold)
    print(f"gallery: {recognizer.gallery.people_count} people ({len(recognizer.gallery)} samples), "
          f"threshold {recognizer.threshold:.2f}; frames scaled to at most {ARGS.max_side} px")
    results = [run_video(recognizer, name) for name in ARGS.videos]
    print(f"{'video':26} {'frames':>6} {'faces':>6} {'named':>6} {'wrong':>6} {'frames w/ wrong':>15} "
          f"{'embedded':>8} {'full det':>8}  check-ins (default rules)")
    for r in results:
        print(f"{r.video:26} {r.frames:6d} {r.faces_shown:6d} {r.named_shown:6d} {r.wrong_named:6d} "
              f"{len(r.wrong_frames):15d} {r.embedded:8d} {r.full_detections:8d}  "
              f"{'; '.join(r.check_ins.get('default', [])) or '-'}")
    for key in [k for k in rules_to_run() if k != "default"]:
        print(f"check-ins with {key}: " + " | ".join(
            f"{r.video}: {'; '.join(r.check_ins.get(key, [])) or '-'}" for r in results))
    total = sum(len(r.wrong_frames) for r in results)
    print(f"total frames with a wrong name shown: {total} of {sum(r.frames for r in results)}")
    for r in results:
        for line in r.wrong_examples[:12]:
            print(f"  {r.video}: {line}")
        if len(r.wrong_examples) > 12:
            print(f"  {r.video}: ... {len(r.wrong_examples) - 12} more")
    if ARGS.json:
        ARGS.json.parent.mkdir(parents=True, exist_ok=True)
        ARGS.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 0


if __name__ == "__main__":
    ARGS = parse()
    sys.exit(main())

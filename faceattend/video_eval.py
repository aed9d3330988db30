"""Attendance on a video with ground truth: who was checked in, who was missed, who was not there.

The video is run through the same decision logic as the window and ``faceattend checkin``
(:class:`~faceattend.live.LiveRecognizer` + :class:`~faceattend.live.AutoCheckin`, built from the
settings) on the video's own timeline: the frame timestamps drive the tracker's clock
and the check-in times, so the same file always gives the same answer.

The ground truth is a small TOML file written by eye (see ``bench/annotations/``)::

    video = "short_hamilton_clip.mp4"
    tolerance = 0.5                       # seconds of slack around every range
    [[person]]
    name = "Lin-Manuel Miranda"
    times = [[0.0, 0.8], [2.7, 7.2]]      # seconds when the person is in view

Faces are not boxed, so a name is counted as wrong when that person is not in view at that
moment (a name put on the wrong one of two people in view is not caught).
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from faceattend.config import Settings
from faceattend.enrol import folder_plan, photo_candidates
from faceattend.errors import UserError
from faceattend.match import Gallery
from faceattend.pipeline import Recognizer

#: Check-in times are the video's time from this instant (a fixed date, so runs compare equal).
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class AnnotationError(UserError):
    """An annotation file that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class Annotation:
    video: str
    people: dict[str, list[tuple[float, float]]]  # in view and recognisable: a check-in is expected
    tolerance: float = 0.5
    also: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # in view, too small or turned

    def present(self, name: str, t: float) -> bool:
        """Whether ``name`` is annotated in view at ``t`` seconds (with the tolerance)."""
        ranges = self.people.get(name, []) + self.also.get(name, [])
        return any(a - self.tolerance <= t <= b + self.tolerance for a, b in ranges)

    def first_seen(self, name: str) -> float:
        return min(a for a, _ in self.people[name])

    def after(self, start: float) -> Annotation:
        """The ground truth of the video from ``start`` seconds on (people not in view then dropped)."""
        def clip(ranges: list[tuple[float, float]]) -> list[tuple[float, float]]:
            return [(max(a, start), b) for a, b in ranges if b > start]
        people = {name: clip(r) for name, r in self.people.items() if clip(r)}
        return Annotation(self.video, people, self.tolerance, {n: clip(r) for n, r in self.also.items()})


@dataclass
class Timeline:
    """What the app did on one run: its check-ins and the names it showed on every frame."""

    frames: int = 0
    checkins: list[tuple[float, str, float]] = field(default_factory=list)  # (seconds, name, score)
    shown: list[tuple[float, list[str]]] = field(default_factory=list)  # per frame: names shown


def load_annotation(path: Path) -> Annotation:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise AnnotationError(f"cannot read the annotations {path}: {error}") from None
    people: dict[str, list[tuple[float, float]]] = {}
    also: dict[str, list[tuple[float, float]]] = {}
    for entry in raw.get("person", []):
        try:
            name = str(entry["name"])
            ranges = [(float(a), float(b)) for a, b in entry.get("times", [])]
            also[name] = [(float(a), float(b)) for a, b in entry.get("also", [])]
        except (KeyError, TypeError, ValueError):
            raise AnnotationError(f"{path}: every [[person]] needs a name and times = [[start, end], ...]") from None
        if not ranges + also[name] or any(b < a for a, b in ranges + also[name]):
            raise AnnotationError(f"{path}: {name} needs times (or also) as [start, end] pairs with start <= end")
        if ranges:  # someone only ever seen turned away ("also") is not expected to be checked in
            people[name] = ranges
    return Annotation(str(raw.get("video", "")), people, float(raw.get("tolerance", 0.5)), also)


def enrol_gallery(recognizer: Recognizer, folder: Path, pad: bool = True) -> tuple[Gallery, dict[str, dict]]:
    """A gallery of the people in ``folder`` (as ``enroll --folder`` reads it), made the app's way
    (padding, quality gate) but kept in memory; per person: samples, weak ones, refused photos."""
    embeddings, ids, names, summary = [], [], {}, {}
    for pid, (name, photos) in enumerate(folder_plan(Path(folder)).items(), start=1):
        candidates, refused = photo_candidates(recognizer, photos, pad=pad)
        names[pid] = name
        for candidate in candidates:
            embeddings.append(candidate.face.embedding)
            ids.append(pid)
        summary[name] = {"samples": len(candidates), "weak": sum(1 for c in candidates if c.quality.weak),
                         "refused": [f"{Path(photo).name}: {reason}" for photo, reason in refused]}
    if not embeddings:
        raise AnnotationError(f"nobody could be enrolled from {folder}")
    return Gallery(np.stack(embeddings), ids, names), summary


def video_frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds on the video's own clock, RGB frame) for every frame of the file."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise AnnotationError(f"cannot open the video {path}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            msec = capture.get(cv2.CAP_PROP_POS_MSEC)
            t = msec / 1000.0 if msec > 0 or index == 0 else index / fps
            yield t, np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        capture.release()


def run_video(recognizer: Recognizer, path: Path, settings: Settings, start: float = 0.0) -> Timeline:
    """One pass of the app's live logic over the video from ``start`` seconds, on the video's clock.

    Built as ``faceattend checkin`` builds it: ``LiveRecognizer(recognizer)`` and the check-in
    rules from the settings; the frame timestamps replace the wall clock (also as the tracker's
    ``clock``, for a ``process`` that takes no ``timestamp``).
    """
    from faceattend.live import AutoCheckin, LiveRecognizer

    now = [0.0]
    live = LiveRecognizer(recognizer, clock=lambda: now[0])
    takes_time = "timestamp" in inspect.signature(live.process).parameters
    rules = AutoCheckin.from_settings(settings)
    timeline = Timeline()
    for t, frame in video_frames(path):
        if t < start:
            continue
        now[0] = t
        faces = live.process(frame, timestamp=t) if takes_time else live.process(frame)
        timeline.frames += 1
        timeline.shown.append((t, [str(f.match.name) for f in faces if getattr(f, "named", f.match.known)]))
        when = EPOCH + timedelta(seconds=t)
        for face in rules.due(faces, when):
            assert face.match.person_id is not None  # due() gives named faces only
            rules.recorded(face.match.person_id, when)
            timeline.checkins.append((t, str(face.match.name), round(float(face.match.similarity), 4)))
    return timeline


def score(annotation: Annotation, timeline: Timeline) -> dict:
    """Per annotated person: checked in or missed, and when; false check-ins; frames with a wrong name."""
    people = {}
    for name in annotation.people:
        correct = [t for t, who, _ in timeline.checkins if who == name and annotation.present(name, t)]
        first = min(correct) if correct else None
        people[name] = {"checked_in": first is not None, "at_s": first,
                        "after_first_seen_s": None if first is None else round(first - annotation.first_seen(name), 2)}
    false = [{"at_s": t, "name": who, "score": s} for t, who, s in timeline.checkins
             if not annotation.present(who, t)]
    wrong_frames = sum(1 for t, names in timeline.shown if any(not annotation.present(n, t) for n in names))
    wrong_faces = sum(sum(1 for n in names if not annotation.present(n, t)) for t, names in timeline.shown)
    return {"people": people, "checked_in": sum(p["checked_in"] for p in people.values()),
            "annotated": len(people), "false_checkins": false, "frames": timeline.frames,
            "frames_with_wrong_name": wrong_frames, "wrong_name_face_frames": wrong_faces,
            "checkins": [{"at_s": round(t, 3), "name": who, "score": s} for t, who, s in timeline.checkins]}


def evaluate_video(recognizer: Recognizer, video: Path, annotation: Annotation, settings: Settings,
                   runs: int = 1, start: float = 0.0, progress: Callable[[int], None] | None = None) -> dict:
    """``runs`` identical passes from ``start`` seconds; the first one's scores, and whether every
    run gave the same check-ins."""
    results = []
    truth = annotation.after(start) if start > 0 else annotation
    for run in range(runs):
        results.append(score(truth, run_video(recognizer, video, settings, start)))
        if progress is not None:
            progress(run + 1)
    same = all(r["checkins"] == results[0]["checkins"] for r in results)
    return {"video": str(video), "start_s": start, "runs": runs, "identical_runs": same, **results[0],
            "per_run": [{"checked_in": r["checked_in"], "false_checkins": len(r["false_checkins"]),
                         "frames_with_wrong_name": r["frames_with_wrong_name"]} for r in results]}


def format_result(result: dict) -> str:
    """The evaluation in a few lines of text (``--json`` gives everything)."""
    lines = [f"{Path(result['video']).name}: {result['checked_in']}/{result['annotated']} annotated people "
             f"checked in, {len(result['false_checkins'])} false check-in(s), "
             f"{result['frames_with_wrong_name']}/{result['frames']} frames with a wrong name"]
    for name, person in result["people"].items():
        state = (f"checked in at {person['at_s']:.2f} s ({person['after_first_seen_s']:.2f} s after first seen)"
                 if person["checked_in"] else "missed")
        lines.append(f"  {name}: {state}")
    lines += [f"  false: {f['name']} at {f['at_s']:.2f} s (score {f['score']:.2f})" for f in result["false_checkins"]]
    if result["runs"] > 1:
        lines.append(f"  {result['runs']} runs: {'identical' if result['identical_runs'] else 'DIFFERENT'} check-ins")
    return "\n".join(lines)

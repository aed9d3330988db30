"""The live loop on real video frames: tracks, names, refreshes, lost faces and automatic check-in.

The clip (640x360, 30 fps) shows the performer with someone else in frames 0-19, other people
or nobody in 20-81, the performer alone in 82-210 and a group of four or five from 211. No
timing is asserted here (that is bench/live.py's job); the counts of full detections and of
embedding calls are, because they are what makes the loop cheap.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend.live import PENDING, AutoCheckin, LiveRecognizer, TrackedFace
from faceattend.match import Gallery
from faceattend.pipeline import Recognizer

from conftest import data_path
from recognition_fixtures import recognizer  # noqa: F401  (session fixture: networks built once)

NAME = "Lin-Manuel Miranda"
PERSON_ID = 7


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    """Every frame of the sample clip, RGB."""
    path = data_path("videos", "short_hamilton_clip.mp4")
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    capture.release()
    if len(frames) < 260:
        pytest.fail(f"OpenCV decoded only {len(frames)} frames of {path}: is its video support broken?")
    return frames


class Counting:
    """Wraps a Recognizer and records how many faces each ``recognise`` call embedded."""

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner
        self.detector = inner.detector
        self.gallery = inner.gallery
        self.threshold = inner.threshold
        self.calls: list[int] = []

    def recognise(self, frame, detections):  # noqa: ANN001, ANN201
        self.calls.append(len(detections))
        return self.inner.recognise(frame, detections)


@pytest.fixture
def enrolled(recognizer: Recognizer) -> Counting:  # noqa: F811
    """The shared recognizer with only the performer enrolled (restored afterwards)."""
    photo = cv2.imread(str(data_path("videos", "hamilton_refs", "lin-manuel-miranda.png")))
    saved = recognizer.gallery
    embedding = recognizer.single_face(np.ascontiguousarray(photo[:, :, ::-1])).embedding
    recognizer.gallery = Gallery(embedding[None], [PERSON_ID], {PERSON_ID: NAME})
    yield Counting(recognizer)
    recognizer.gallery = saved


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FrameClock:
    """A 30 fps camera's clock: each call (one per processed frame) is 1/30 s after the previous."""

    def __init__(self) -> None:
        self.frames = 0

    def __call__(self) -> float:
        self.frames += 1
        return (self.frames - 1) / 30


def live(rec: Counting, **options: object) -> LiveRecognizer:
    """Frame-count detection schedule, frames 1/30 s apart (tests run far below 30 fps); one
    embedding is all the evidence a face collects, and a change of look does not trigger one,
    unless a test asks: these tests count the embeddings of the schedule itself."""
    options.setdefault("detect_interval", math.inf)
    options.setdefault("same_look", -1.0)
    options.setdefault("clock", FrameClock())
    options.setdefault("evidence_needed", 1)
    return LiveRecognizer(rec, **options)  # type: ignore[arg-type]


def performer(faces: list[TrackedFace]) -> TrackedFace:
    named = [f for f in faces if f.match.name == NAME]
    assert len(named) == 1, [(f.match.label, f.match.similarity) for f in faces]
    return named[0]


def test_a_tracked_face_keeps_its_id_and_name_and_is_embedded_once(enrolled: Counting, clip: list[np.ndarray]) -> None:
    loop = live(enrolled, detect_every=4, refresh_every=100)
    seen = [loop.process(frame) for frame in clip[90:102]]
    ids = {performer(faces).track_id for faces in seen}
    assert len(ids) == 1, "the same face keeps one track from frame to frame"
    assert loop.full_detections == 3, "full detections every 4th frame, refine in between"
    assert sum(enrolled.calls) == len({f.track_id for faces in seen for f in faces}), "one embedding per track"
    assert [performer(faces).frames_since_recognised for faces in seen[:4]] == [0, 1, 2, 3]
    assert performer(seen[-1]).stable_frames == 12


def test_identity_is_refreshed_now_and_then(enrolled: Counting, clip: list[np.ndarray]) -> None:
    loop = live(enrolled, detect_every=100, refresh_every=5)
    for frame in clip[100:111]:
        face = performer(loop.process(frame))
    assert enrolled.calls == [1, 1, 1], "embedded at frames 0, 5 and 10"
    assert face.frames_since_recognised == 0 and face.match.name == NAME


def test_all_faces_of_a_frame_are_embedded_in_one_batch(enrolled: Counting, clip: list[np.ndarray]) -> None:
    loop = live(enrolled)
    faces = loop.process(clip[230])
    assert len(faces) >= 3 and enrolled.calls == [len(faces)]
    assert len({f.track_id for f in faces}) == len(faces)
    again = loop.process(clip[231])
    assert enrolled.calls == [len(faces)], "refine-only frame: nobody embedded again"
    assert {f.track_id for f in again} <= {f.track_id for f in faces}


def test_a_face_that_leaves_drops_its_track(enrolled: Counting, clip: list[np.ndarray]) -> None:
    loop = live(enrolled, detect_every=100, keep_lost=3)
    first = performer(loop.process(clip[120])).track_id
    box = performer(loop.process(clip[121])).detection.box
    gone = hidden(clip[121], box)  # the performer steps away: no scene cut, only his face is missing
    kept = loop.process(gone)
    assert [(f.track_id, f.missed, f.label) for f in kept] == [(first, 1, PENDING)], \
        "refine lost it: one frame on its last box, and no name on it"
    assert not kept[0].named and loop.full_detections == 1 and loop.scene_cuts == 0
    assert loop.process(gone) == [], "the full detection that follows drops it at once"
    assert loop.full_detections == 2, "losing a face in refine asks for a full detection on the next frame"
    back = performer(loop.process(clip[122]))
    assert back.track_id == first and back.missed == 0 and back.named
    assert enrolled.calls == [1, 1], "a blink later: same track, but embedded again before its name is shown"
    outputs = [loop.process(gone) for _ in range(6)]
    assert [len(o) for o in outputs] == [1, 0, 0, 0, 0, 0]
    assert loop.tracks == []
    returned = performer(loop.process(clip[123]))
    assert returned.track_id != first, "after keep_lost frames the face is a new track"
    assert enrolled.calls == [1, 1, 1]


def test_full_detection_is_also_time_based(enrolled: Counting, clip: list[np.ndarray]) -> None:
    clock = FakeClock()
    loop = LiveRecognizer(enrolled, detect_every=100, detect_interval=0.1, clock=clock)  # type: ignore[arg-type]
    for frame in clip[130:137]:
        loop.process(frame)
        clock.now += 0.04
    # t = 0 full, 0.04 / 0.08 refine, 0.12 full, 0.16 / 0.20 refine, 0.24 full
    assert loop.full_detections == 3


def test_a_scene_cut_ends_every_track_on_its_own_frame(enrolled: Counting, clip: list[np.ndarray]) -> None:
    loop = live(enrolled, detect_every=3)
    group = loop.process(clip[215])
    assert len(group) >= 3
    faces = loop.process(clip[150])  # cut to the performer alone
    assert loop.scene_cuts == 1 and loop.full_detections == 2, "the cut runs the full detector on its own frame"
    assert len(faces) == 1, "the group's boxes are gone on the first frame after the cut"
    face = performer(faces)
    assert face.named and face.match.similarity > 0.47 and face.track_id not in {f.track_id for f in group}
    assert face.frames_since_recognised == 0, "named by its own embedding on the cut's frame"


def test_auto_checkin_fires_once_per_person_per_cooldown(enrolled: Counting, clip: list[np.ndarray]) -> None:
    loop = live(enrolled, detect_every=3, evidence_needed=3)
    rules = AutoCheckin(frames_needed=3, cooldown=timedelta(minutes=30), evidence_needed=3, spacing=0.3)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def run(frames: list[np.ndarray], at: timedelta) -> list[tuple[int, int | None]]:
        fired = []
        for i, frame in enumerate(frames):
            for face in rules.due(loop.process(frame), start + at + timedelta(seconds=i / 30)):
                rules.recorded(face.match.person_id, start + at)  # the write went through
                fired.append((i, face.match.person_id))
        return fired

    first = run(clip[130:155], timedelta(0))
    assert [pid for _, pid in first] == [PERSON_ID]
    assert first[0][0] >= 18, "three embeddings at least 0.3 s apart: not before 0.6 s (frame 18)"
    loop.reset()  # the face leaves and comes back, still within the cooldown
    assert run(clip[155:180], timedelta(minutes=10)) == []
    assert [pid for _, pid in run(clip[180:210], timedelta(minutes=31))] == [PERSON_ID]


def test_unknown_faces_never_check_in(enrolled: Counting, clip: list[np.ndarray]) -> None:
    loop = live(enrolled, detect_every=3)
    rules = AutoCheckin(frames_needed=2)
    faces = [loop.process(frame) for frame in clip[40:46]]
    assert any(faces) and all(not f.match.known for fs in faces for f in fs)
    assert not any(rules.due(fs) for fs in faces)


def test_reset_recognises_everyone_afresh(enrolled: Counting, clip: list[np.ndarray], tmp_path: Path) -> None:
    loop = live(enrolled)
    first = performer(loop.process(clip[160])).track_id
    loop.reset()
    again = performer(loop.process(clip[161]))
    assert again.track_id != first and enrolled.calls == [1, 1]


def hidden(frame: np.ndarray, box: tuple[float, float, float, float], margin: float = 0.35) -> np.ndarray:
    """The frame with ``box`` (widened by ``margin``) filled with its mean colour: nobody there."""
    out = frame.copy()
    x1, y1, x2, y2 = box
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    a, b = max(0, int(x1 - mx)), min(out.shape[1], int(x2 + mx) + 1)
    c, d = max(0, int(y1 - my)), min(out.shape[0], int(y2 + my) + 1)
    out[c:d, a:b] = out[c:d, a:b].reshape(-1, 3).mean(0).astype(out.dtype)
    return out


def test_a_newcomer_joining_tracked_faces_gets_a_track_and_only_it_is_embedded(
    enrolled: Counting, clip: list[np.ndarray]
) -> None:
    # In 215-227 four people face the camera; the one on the left (about x 40-105) is hidden
    # until frame 221, so it "walks in" while the other three are tracked.
    left = (38.0, 58.0, 112.0, 144.0)
    frames = [hidden(f, left) if i < 221 else f for i, f in zip(range(215, 228), clip[215:228], strict=True)]
    loop = live(enrolled, detect_every=3, refresh_unknown_every=100)
    seen = [loop.process(frames[0])]
    assert len(seen[0]) == 3 and enrolled.calls == [3], "the three visible faces, embedded in one batch"
    seen += [loop.process(frame) for frame in frames[1:]]
    first_ids = {f.track_id for f in seen[0]}
    arrival = next(i for i, faces in enumerate(seen) if len(faces) == 4)
    assert 6 <= arrival <= 8, "found at the first full detection after it shows (frame 6, 7 or 8)"
    newcomer = [f for f in seen[arrival] if f.track_id not in first_ids]
    assert len(newcomer) == 1 and newcomer[0].detection.box[0] < 60 and newcomer[0].frames_since_recognised == 0
    assert not newcomer[0].match.known
    assert {f.track_id for f in seen[arrival]} - first_ids == {newcomer[0].track_id}, "the others keep their tracks"
    assert enrolled.calls == [3, 1], "only the newcomer is embedded when it arrives; nobody else meanwhile"


def test_unknown_faces_are_refreshed_more_often_than_known_ones(enrolled: Counting, clip: list[np.ndarray]) -> None:
    # Frames 0-12: the performer (known) and a small face in the audience (Unknown).
    # The performer's score here is near the threshold, where he would be embedded on every frame
    # (tests/test_live_evidence.py): turned off to see the refresh schedule alone.
    loop = live(enrolled, detect_every=100, refresh_every=10, refresh_unknown_every=4, borderline=-1.0)
    embedded: dict[str, list[int]] = {"known": [], "unknown": []}
    for i, frame in enumerate(clip[0:13]):
        for face in loop.process(frame):
            if face.frames_since_recognised == 0:
                embedded["known" if face.match.known else "unknown"].append(i)
    assert embedded == {"known": [0, 10], "unknown": [0, 4, 8, 12]}


def test_tracking_gives_the_per_frame_pipelines_names_for_far_fewer_embeddings(
    enrolled: Counting, clip: list[np.ndarray]
) -> None:
    """Default settings against full detect + recognise on every frame: the performer alone, then a group."""
    from faceattend.live import box_iou

    frames = clip[84:124] + clip[212:242]
    loop = live(enrolled)
    agree = compared = naive = 0
    for i, frame in enumerate(frames):
        tracked = loop.process(frame)
        if i < 40:
            assert performer(tracked).missed == 0, "named on every frame, never lost"
        full = enrolled.inner.faces(frame)
        naive += len(full)
        for face in full:
            best = max(tracked, key=lambda t: box_iou(t.detection.box, face.detection.box), default=None)
            compared += 1
            agree += best is not None and box_iou(best.detection.box, face.detection.box) >= 0.3 \
                and best.match.person_id == face.match.person_id
    assert compared >= 150
    # Misses: the scene cut at 212 (old boxes for one frame) and faces shown for one frame only.
    assert agree / compared >= 0.9, f"same name as the per-frame pipeline for {agree} of {compared} faces"
    assert sum(enrolled.calls) * 4 <= naive, f"{sum(enrolled.calls)} embeddings vs {naive} per frame"
    assert loop.full_detections <= len(frames) // 3 + 3, "full detection about every third frame"

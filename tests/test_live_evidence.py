"""No name without evidence: a face is named only by its own embedding, and checked in only on several.

Synthetic scenes built from real photos (the Obama and Biden portraits, LFW people) pasted into a
plain frame, so that what changes between frames is exactly one face: a cut from one person to
another at the same place, a jump, and a two-shot where one frame's embedding names the wrong
person. Frames carry their own times (30 fps), as a video file's do.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from faceattend.live import PENDING, AutoCheckin, Evidence, LiveRecognizer, TrackedFace, independent_evidence
from faceattend.match import Gallery
from faceattend.pipeline import Recognizer
from faceattend.types import Detection

from conftest import data_path
from recognition_fixtures import recognizer  # noqa: F401  (session fixture: networks built once)

OBAMA, BIDEN = 1, 2
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
FPS = 30.0


def rgb(path: object) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def head(photo: np.ndarray, rec: Recognizer, size: tuple[int, int] = (150, 190)) -> np.ndarray:
    """The photo's face with some hair and chin around it, scaled to ``size`` (w, h)."""
    box = max(rec.detector.detect(photo), key=lambda d: d.width).box
    cx, cy, w = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, (box[2] - box[0]) * 1.5
    h = w * size[1] / size[0]
    x1, y1 = int(max(0, cx - w / 2)), int(max(0, cy - h / 2))
    x2, y2 = int(min(photo.shape[1], cx + w / 2)), int(min(photo.shape[0], cy + h / 2))
    return cv2.resize(photo[y1:y2, x1:x2], size, interpolation=cv2.INTER_AREA)


def scene(*heads: tuple[np.ndarray, int, int]) -> np.ndarray:
    """A 640x480 grey frame with each (head, x, y) pasted in."""
    frame = np.full((480, 640, 3), 118, np.uint8)
    for picture, x, y in heads:
        frame[y:y + picture.shape[0], x:x + picture.shape[1]] = picture
    return frame


@pytest.fixture(scope="module")
def portraits(recognizer: Recognizer) -> dict[str, np.ndarray]:  # noqa: F811
    return {"obama": rgb(data_path("portraits", "obama", "obama.jpg")),
            "obama2": rgb(data_path("portraits", "obama", "obama2.jpg")),
            "biden": rgb(data_path("portraits", "biden", "biden.jpg")),
            "stranger": rgb(data_path("lfw_dev", "deepfunneled", "Aaron_Sorkin", "Aaron_Sorkin_0001.jpg"))}


@pytest.fixture
def enrolled(recognizer: Recognizer, portraits: dict[str, np.ndarray]) -> Recognizer:  # noqa: F811
    """Obama (one portrait) and Biden enrolled; the session's gallery is restored afterwards."""
    saved = recognizer.gallery
    rows = [recognizer.single_face(portraits["obama"]).embedding, recognizer.single_face(portraits["biden"]).embedding]
    recognizer.gallery = Gallery(np.stack(rows), [OBAMA, BIDEN], {OBAMA: "Barack Obama", BIDEN: "Joe Biden"})
    yield recognizer
    recognizer.gallery = saved


def play(loop: LiveRecognizer, frames: list[np.ndarray], rules: AutoCheckin | None = None,
         first: int = 0) -> tuple[list[list[TrackedFace]], list[tuple[int, int]]]:
    """Every frame at its own time; check-ins (frame, person) recorded as soon as they are due."""
    seen, checked = [], []
    for i, frame in enumerate(frames, start=first):
        faces = loop.process(frame, timestamp=i / FPS)
        seen.append(faces)
        for face in rules.due(faces, START + timedelta(seconds=i / FPS)) if rules else []:
            rules.recorded(int(face.match.person_id), START + timedelta(seconds=i / FPS))
            checked.append((i, int(face.match.person_id)))
    return seen, checked


def test_a_face_replacing_another_at_the_same_place_never_gets_its_name(
    enrolled: Recognizer, portraits: dict[str, np.ndarray]
) -> None:
    obama, biden = head(portraits["obama"], enrolled), head(portraits["biden"], enrolled)
    frames = [scene((obama, 245, 140))] * 30 + [scene((biden, 245, 140))] * 30
    loop = LiveRecognizer(enrolled)
    seen, checked = play(loop, frames, AutoCheckin(frames_needed=3))
    assert loop.scene_cuts == 0, "only the face changed: this is not a whole-picture cut"
    before = [f for faces in seen[:30] for f in faces]
    after = [f for faces in seen[30:] for f in faces]
    assert before and all(f.named and f.match.person_id == OBAMA for f in before)
    assert after and all(f.match.person_id != OBAMA for f in after), \
        [(i, f.label) for i, faces in enumerate(seen[30:], 30) for f in faces if f.match.person_id == OBAMA]
    assert all(f.named and f.match.person_id == BIDEN for f in after), "named by his own embedding from the first frame"
    assert [pid for i, pid in checked if i >= 30] in ([], [BIDEN]) and OBAMA not in [p for i, p in checked if i >= 30]


def test_a_face_jumping_into_view_is_named_by_its_own_embedding(
    enrolled: Recognizer, portraits: dict[str, np.ndarray]
) -> None:
    obama, biden = head(portraits["obama"], enrolled), head(portraits["biden"], enrolled)
    # Moved by 0.45 of a face width in one frame: the boxes still overlap (IoU about 0.35).
    frames = [scene((obama, 245, 140))] * 5 + [scene((biden, 245 + 68, 140))] * 3
    seen, _ = play(LiveRecognizer(enrolled), frames)
    shown = [[f.label for f in faces] for faces in seen]
    assert shown[:5] == [["Barack Obama"]] * 5
    assert shown[5] in ([], [PENDING]), "refine loses the old face: at most its old box, with no name"
    assert shown[6:] == [["Joe Biden"]] * 2, "the full detection that follows finds him and his own embedding names him"
    assert len({f.track_id for faces in seen for f in faces}) == 2


class OneWrongEmbedding:
    """The real recognizer, except that on the first embedding the left face's embedding is another
    photo's of Obama: one frame in which a stranger in a two-shot matches an enrolled person."""

    def __init__(self, inner: Recognizer, wrong: np.ndarray) -> None:
        self.inner, self.detector, self.gallery, self.threshold = inner, inner.detector, inner.gallery, inner.threshold
        self.wrong, self.calls = wrong, 0

    def recognise(self, frame: np.ndarray, detections: list[Detection]):  # noqa: ANN201
        faces = self.inner.recognise(frame, detections)
        self.calls += 1
        if self.calls == 1:
            left = min(range(len(faces)), key=lambda i: faces[i].detection.box[0])
            match = self.gallery.match(self.wrong[None], self.threshold)[0]
            faces[left] = replace(faces[left], embedding=self.wrong, match=match)
        return faces


def test_one_wrong_match_in_a_two_shot_does_not_check_that_person_in(
    enrolled: Recognizer, portraits: dict[str, np.ndarray]
) -> None:
    stranger, biden = head(portraits["stranger"], enrolled), head(portraits["biden"], enrolled)
    frames = [scene((stranger, 90, 140), (biden, 400, 140))] * 45  # 1.5 s of a two-shot
    wrong = enrolled.single_face(portraits["obama2"]).embedding
    double = OneWrongEmbedding(enrolled, wrong)
    seen, checked = play(LiveRecognizer(double), frames, AutoCheckin(frames_needed=5))  # type: ignore[arg-type]
    assert seen[0][0].match.person_id == OBAMA or any(f.match.person_id == OBAMA for f in seen[0]), \
        "the first frame's embedding of the stranger names Obama"
    assert [pid for _, pid in checked] == [BIDEN], "Biden, seen all along, is checked in; Obama never"
    left = [min(faces, key=lambda f: f.detection.box[0]) for faces in seen]
    assert left[-1].match.person_id is None, "the stranger's own later embeddings say Unknown"


def test_the_same_frames_give_the_same_tracks_and_check_ins_however_fast_they_are_processed(
    enrolled: Recognizer, portraits: dict[str, np.ndarray]
) -> None:
    clip = cv2.VideoCapture(str(data_path("videos", "short_hamilton_clip.mp4")))
    frames = []
    for _ in range(235):
        ok, bgr = clip.read()
        assert ok
        frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    frames = frames[195:235]  # the performer, the cut to the audience at 211 (Obama among them)

    class Slow:  # the same detector, on a busier machine
        def __init__(self, inner: object, delay: float) -> None:
            self.inner, self.delay = inner, delay

        def detect(self, frame: np.ndarray) -> list[Detection]:
            time.sleep(self.delay)
            return self.inner.detect(frame)  # type: ignore[attr-defined]

        def refine(self, frame: np.ndarray, previous: list[Detection]) -> list[Detection]:
            return self.inner.refine(frame, previous)  # type: ignore[attr-defined]

    def run(delay: float) -> tuple[list[tuple[object, ...]], list[tuple[int, int]]]:
        slow = Recognizer(Slow(enrolled.detector, delay), enrolled.embedder, enrolled.gallery, enrolled.threshold)
        seen, checked = play(LiveRecognizer(slow), frames, AutoCheckin(frames_needed=3), first=195)
        summary = [(f.track_id, tuple(round(v, 3) for v in f.detection.box), f.match.person_id, f.label,
                    f.evidence) for faces in seen for f in faces]
        return summary, checked

    first, again = run(0.0), run(0.12)
    assert first == again
    assert first[0], "faces were seen"


def face_with(evidence: list[tuple[float, int | None, float]], pid: int = OBAMA) -> TrackedFace:
    """A confirmed face of ``pid`` with the given (time, person, margin) embeddings."""
    detection = Detection((0.0, 0.0, 50.0, 50.0), 0.99, np.zeros((5, 2), np.float32))
    from faceattend.types import Match

    items = tuple(Evidence(t, p, 0.7, m) for t, p, m in evidence)
    return TrackedFace(1, detection, Match(pid, "Barack Obama", 0.7), 30, confirmed=True, embedded_at=evidence[-1][0],
                       evidence=items)


def test_evidence_counts_only_spaced_agreeing_clear_embeddings() -> None:
    assert independent_evidence(face_with([(0.0, OBAMA, 0.3), (0.3, OBAMA, 0.3), (0.6, OBAMA, 0.3)]).evidence,
                                OBAMA, 0.1, 0.3) == 3
    assert independent_evidence(face_with([(0.0, OBAMA, 0.3), (0.1, OBAMA, 0.3), (0.2, OBAMA, 0.3)]).evidence,
                                OBAMA, 0.1, 0.3) == 1, "three embeddings within 0.3 s are one piece of evidence"
    assert independent_evidence(face_with([(0.0, OBAMA, 0.3), (0.3, BIDEN, 0.3), (0.6, OBAMA, 0.3)]).evidence,
                                OBAMA, 0.1, 0.3) == 1, "a newer embedding naming someone else breaks the run"
    assert independent_evidence(face_with([(0.0, OBAMA, 0.3), (0.3, OBAMA, 0.02), (0.6, OBAMA, 0.3)]).evidence,
                                OBAMA, 0.1, 0.3) == 1, "another person close behind: not clear evidence"
    rules = AutoCheckin(frames_needed=1, evidence_needed=3, margin=0.1)
    good = face_with([(0.0, OBAMA, 0.3), (0.3, OBAMA, 0.3), (0.6, OBAMA, 0.3)])
    assert rules.due([good], START) == [good]
    assert rules.due([replace(good, confirmed=False)], START) == [], "a name not confirmed now is never acted on"
    assert rules.due([good, replace(good, track_id=2)], START) == [], "one person on two faces: one is wrong"
    assert replace(good, confirmed=False).label == PENDING and not replace(good, confirmed=False).named


def test_a_face_embedded_on_every_frame_keeps_seconds_of_evidence() -> None:
    """A face near the threshold is embedded on every frame; its evidence still spans its time in view."""
    loop = LiveRecognizer(None)  # type: ignore[arg-type]  (only the evidence bookkeeping is used)
    evidence: tuple[Evidence, ...] = ()
    for i in range(31):  # one second at 30 fps
        evidence = loop._added(evidence, Evidence(i / 30, OBAMA, 0.55, 0.3 - 0.001 * i))
    assert [round(e.time, 2) for e in evidence] == [0.0, 0.3, 0.6, 0.9]
    assert independent_evidence(evidence, OBAMA, 0.1, 0.3) == 4
    assert evidence[-1].margin == pytest.approx(0.3 - 0.030), "the weakest margin of the merged ones"
    evidence = loop._added(evidence, Evidence(31 / 30, BIDEN, 0.5, 0.2))
    assert independent_evidence(evidence, OBAMA, 0.1, 0.3) == 0, "a newer embedding naming someone else is kept"

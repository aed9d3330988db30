"""The live loop's recognition: track faces between full detections; a name only from an embedding.

Running the whole cascade and the embedder on every frame is what makes open-source face
recognition crawl on a CPU. Here the full detector runs only now and then: on every frame while
no face is tracked, otherwise at most ``detect_every`` processed frames and ``detect_interval``
seconds apart (the time bound keeps a newcomer's wait short when frames are dropped), and on the
frame after a tracked face was lost. In between, the detector only re-checks last frame's boxes
(its ``refine`` step: ONet alone, a fraction of a full detection).

A name is the worst thing to get wrong, so a track's identity comes only from embeddings of the
face in view, never from where a box was. A face is the same track as one in the previous frame
only when nothing says otherwise: the whole picture did not change at once (a scene cut: every
track ends), its box overlaps the old one well and kept its size and place (a jump makes a new
track), and it still looks like the face that was there (a 16x16 grey patch compared with last
frame's; a change means it is embedded again at once, so the new face is named by its own
embedding in the same frame). New tracks are embedded in the frame they appear; tracks are
embedded again every ``refresh_every`` frames or ``refresh_interval`` seconds
(``refresh_unknown_every`` frames while Unknown), and on every frame while its score is within
``borderline`` of the threshold. A track's name counts as shown and usable
(:attr:`TrackedFace.named`) only while it is confirmed: embedded within ``confirm_age`` seconds
and found by the detector in this frame. Detections that do not look like faces (a low detector
score, five points nothing like a face's, as text and tableware give) are dropped before they are
embedded.

Each embedding of a track is kept as :class:`Evidence` (when, who, how far ahead of the next
person). While a known track has fewer than ``evidence_needed`` of them it is embedded again every
``evidence_spacing`` seconds; :class:`AutoCheckin` checks a person in only on that many
independent embeddings, spaced in time, all naming them clearly ahead of everyone else.

A face that ``refine`` loses stays one frame on its last box (``missed``, not confirmed: shown
as pending) and the next frame runs the full detector, which decides. A face the full detector no
longer finds leaves the output at once and is remembered for ``keep_lost`` frames; if it comes
back where it vanished it keeps its track but is embedded again before its name is shown.

Every schedule runs on one clock: ``process(frame, timestamp)`` with the video's own time makes a
video file give the same tracks and check-ins on every run; without it the wall clock is used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from faceattend.config import Settings
from faceattend.pipeline import Recognizer
from faceattend.quality import landmark_error
from faceattend.types import Box, Detection, Face, Match

#: Shown instead of a name while a face has no recent embedding of its own.
PENDING = "…"
#: Mean change (grey levels, 0-255) of a 32x18 thumbnail of the whole frame that counts as a scene
#: cut. On the sample videos cuts measure 26-30 and ordinary frames at most 18 (a turning selfie).
CUT_DIFFERENCE = 22.0
#: A tracked face whose 16x16 grey patch correlates less than this with last frame's is embedded
#: again at once. The same face in consecutive video frames measures at least 0.73 in 95% of
#: frames; two different LFW people at the same place 0.25 (median), at most 0.69.
SAME_LOOK = 0.75
#: Evidence kept per track (the newest; at least the largest Settings.auto_checkin_evidence).
EVIDENCE_KEPT = 24
#: Defaults of the automatic check-in rules (Settings.auto_checkin_evidence and _margin): see the
#: README, "Automatic check-in", for how they were measured.
DEFAULT_EVIDENCE = 3
DEFAULT_MARGIN = 0.08
#: Seconds between two embeddings that count as independent evidence.
EVIDENCE_SPACING = 0.3
EPS = 1e-6  # seconds: frame times are multiples of 1/fps, so 9 frames at 30 fps are 0.3 s, not 0.29999
#: The gate before a new detection is embedded (``bench/face_gate.py`` measures what it drops):
#: ONet's score, and the RMS distance (aligned-crop pixels) of the five points from a frontal face's.
MIN_SCORE = 0.9
MAX_LANDMARK_ERROR = 14.0


@dataclass(frozen=True)
class Evidence:
    """One embedding of a tracked face and what the gallery made of it."""

    time: float  # seconds on the stream's clock
    person_id: int | None  # None: Unknown
    similarity: float  # to the best person
    margin: float  # best person's score minus the second best's (0 when nobody else is enrolled)


@dataclass(frozen=True)
class TrackedFace:
    """A face followed across frames, with the identity its latest embedding gave."""

    track_id: int
    detection: Detection
    match: Match
    stable_frames: int  # consecutive frames this track has kept the same identity
    frames_since_recognised: int = 0
    missed: int = 0  # 1 while shown on its last box because refine lost it (a full detection follows)
    confirmed: bool = False  # the match comes from an embedding of this face, recent, and the face is in view
    embedded_at: float = -math.inf  # stream time of the latest embedding
    evidence: tuple[Evidence, ...] = ()

    @property
    def named(self) -> bool:
        """Whether a name may be shown and acted on: a known match, confirmed."""
        return self.confirmed and self.match.known

    @property
    def label(self) -> str:
        """What the window writes over the face: the name, "Unknown", or "…" while unconfirmed."""
        return self.match.label if self.confirmed else PENDING


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes: the one box-overlap helper outside the detector's tensors."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def same_place(previous: Detection, current: Detection, max_scale: float = 1.5, max_shift: float = 0.5) -> bool:
    """Whether ``current`` can be the same face as ``previous`` one frame later: no jump in size or place."""
    ratio = max(current.width, 1e-6) / max(previous.width, 1e-6)
    if not 1.0 / max_scale <= ratio <= max_scale:
        return False
    dx = (current.box[0] + current.box[2] - previous.box[0] - previous.box[2]) / 2
    dy = (current.box[1] + current.box[3] - previous.box[1] - previous.box[3]) / 2
    return math.hypot(dx, dy) <= max_shift * max(previous.width, 1.0)


def associate(previous: list[Detection], current: list[Detection], min_iou: float) -> dict[int, int]:
    """Greedy one-to-one pairing current index -> previous index, best overlap first; jumps never pair."""
    pairs = sorted(
        ((box_iou(p.box, c.box), ci, pi) for pi, p in enumerate(previous) for ci, c in enumerate(current)),
        reverse=True,
    )
    used_prev: set[int] = set()
    result: dict[int, int] = {}
    for iou, ci, pi in pairs:
        if iou < min_iou:
            break
        if ci not in result and pi not in used_prev and same_place(previous[pi], current[ci]):
            result[ci] = pi
            used_prev.add(pi)
    return result


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """The whole frame as 32x18 grey levels (float32), for spotting scene cuts."""
    step = max(1, min(frame.shape[0] // 72, frame.shape[1] // 128))
    small = cv2.resize(frame[::step, ::step], (32, 18), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32).mean(axis=2)


def face_patch(frame: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
    """The face's box as a 16x16 grey patch, zero mean and unit length (a dot product is a correlation)."""
    height, width = frame.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(width, max(x1 + 1, int(math.ceil(box[2])))), min(height, max(y1 + 1, int(math.ceil(box[3]))))
    region = frame[y1:y2, x1:x2]
    if region.size == 0:
        return np.zeros(256, np.float32)
    patch = cv2.resize(region, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32).mean(axis=2).ravel()
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-6 else patch


def looks_like_a_face(detection: Detection, min_score: float = MIN_SCORE,
                      max_landmark_error: float = MAX_LANDMARK_ERROR) -> bool:
    """A new detection worth embedding: a confident score and five points placed like a face's.

    Subtitles, tableware and patterned cloth reach the detector's last stage now and then; they
    would only ever be Unknown, but they cost an embedding and clutter the picture.
    """
    return detection.score >= min_score and landmark_error(detection.landmarks) <= max_landmark_error


def independent_evidence(evidence: tuple[Evidence, ...], person_id: int, margin: float, spacing: float) -> int:
    """How many of the newest embeddings, at least ``spacing`` s apart, name ``person_id`` clearly.

    Counting stops at the first newer embedding that names someone else, nobody, or this person
    with less than ``margin`` over the second best: only an unbroken run counts.
    """
    count, last = 0, math.inf
    for item in reversed(evidence):
        if item.person_id != person_id or item.margin < margin:
            break
        if last - item.time >= spacing - EPS:
            count, last = count + 1, item.time
    return count


@dataclass
class LiveRecognizer:
    """Stateful per video stream; call ``process`` with consecutive frames from one source.

    The defaults were chosen with ``bench/live.py`` (2 CPU cores, 30 fps) and
    ``bench/wrong_names.py``: see the README.
    """

    recognizer: Recognizer
    detect_every: int = 3
    detect_interval: float = 0.1  # seconds; math.inf leaves only the frame count
    refresh_every: int = 15
    refresh_unknown_every: int = 6
    refresh_interval: float = 0.5  # seconds: a known face is embedded again at least this often
    confirm_age: float = 1.0  # seconds an embedding confirms a carried name
    borderline: float = 0.1  # a known face less than this above the threshold is embedded on every frame
    keep_lost: int = 3
    min_iou: float = 0.4
    evidence_needed: int = DEFAULT_EVIDENCE
    evidence_spacing: float = EVIDENCE_SPACING
    same_look: float = SAME_LOOK  # -1 turns the look check off (tests of the schedule alone)
    min_score: float = MIN_SCORE  # a new face's detector score below this: not a face (text, objects)
    max_landmark_error: float = MAX_LANDMARK_ERROR  # five points further than this from a face's: not a face
    clock: Callable[[], float] = time.monotonic
    tracks: list[TrackedFace] = field(default_factory=list)
    full_detections: int = 0  # how many processed frames ran the full detector (for benchmarks)
    scene_cuts: int = 0
    _lost: list[tuple[TrackedFace, int]] = field(default_factory=list)  # (track, frames since lost)
    _patches: dict[int, np.ndarray] = field(default_factory=dict)  # track id -> last frame's face patch
    _thumb: np.ndarray | None = None
    _now: float = -math.inf
    _since_full: int = 0
    _last_full: float = -math.inf
    _force_full: bool = False
    _next_id: int = 1

    def reset(self) -> None:
        """Forget every face (new source, or the gallery changed): all are recognised afresh."""
        self.tracks, self._lost, self._patches, self._thumb = [], [], {}, None
        self._since_full, self._last_full, self._force_full, self._now = 0, -math.inf, False, -math.inf

    def process(self, frame: np.ndarray, timestamp: float | None = None) -> list[TrackedFace]:
        """The faces in ``frame``, each with a track id and the identity its own embedding gave.

        ``timestamp``: the frame's time in seconds on the source's own timeline (a video file's
        position); every schedule then follows it, so the same frames give the same result. A
        timestamp earlier than the last one (a video starting over) begins afresh.
        """
        now = self.clock() if timestamp is None else float(timestamp)
        if now < self._now:
            self.reset()
        self._now = now
        self._cut(frame)
        full = self._full_due(now)
        if full:
            self._since_full, self._last_full, self._force_full = 0, now, False
            self.full_detections += 1
            detections = self.recognizer.detector.detect(frame)
        else:
            detections = self.recognizer.detector.refine(frame, [t.detection for t in self.tracks])
            self._since_full += 1
        # Lost tracks can only come back at a full detection: refine never looks for them.
        known = self.tracks + ([lost for lost, _ in self._lost] if full else [])
        pairing = associate([t.detection for t in known], detections, self.min_iou)
        keep = [ci in pairing or self._looks_like_a_face(d) for ci, d in enumerate(detections)]
        detections = [d for d, k in zip(detections, keep, strict=True) if k]
        pairing = {sum(keep[:ci]): pi for ci, pi in pairing.items()}
        carried = [known[pairing[ci]] if ci in pairing else None for ci in range(len(detections))]
        patches = [face_patch(frame, d.box) for d in detections]
        revived = {ci for ci, pi in pairing.items() if pi >= len(self.tracks)}
        due = [ci for ci, previous in enumerate(carried)
               if previous is None or ci in revived or self._embed_due(previous, patches[ci], full, now)]
        faces = self._recognise(frame, detections, due)
        coasting = self._forget(known, set(pairing.values()), refined=not full)
        updated = [self._updated(d, carried[ci], faces.get(ci), now) for ci, d in enumerate(detections)]
        self._patches = {t.track_id: p for t, p in zip(updated, patches, strict=True)} | {
            t.track_id: self._patches[t.track_id] for t in coasting if t.track_id in self._patches}
        self.tracks = updated + coasting
        return list(self.tracks)

    def _cut(self, frame: np.ndarray) -> None:
        """On a scene cut every track ends: nobody in the new picture inherits a name."""
        thumb = thumbnail(frame)
        previous, self._thumb = self._thumb, thumb
        if previous is None or previous.shape != thumb.shape:
            return
        if float(np.abs(thumb - previous).mean()) > CUT_DIFFERENCE:
            self.scene_cuts += 1
            self.tracks, self._lost, self._patches = [], [], {}
            self._force_full = True

    def _looks_like_a_face(self, detection: Detection) -> bool:
        return looks_like_a_face(detection, self.min_score, self.max_landmark_error)

    def _full_due(self, now: float) -> bool:
        if not self.tracks or self._force_full or self._since_full + 1 >= self.detect_every:
            return True
        return now - self._last_full >= self.detect_interval

    def _embed_due(self, track: TrackedFace, patch: np.ndarray, full: bool, now: float) -> bool:
        """Embed a tracked face again: it looks different from last frame, or is due a refresh or evidence."""
        last = self._patches.get(track.track_id)
        if last is None or float(last @ patch) < self.same_look:
            return True
        age = now - track.embedded_at
        if age >= self.refresh_interval - EPS or (track.match.known and track.match.similarity < self._borderline()):
            return True
        if track.match.known and age >= self.evidence_spacing - EPS and len(track.evidence) < self.evidence_needed:
            return True
        return self._refresh_due(track, full)

    def _borderline(self) -> float:
        """A name this close to the threshold may not survive the next frame: such a face is embedded on
        every frame, so its name is never carried."""
        return float(self.recognizer.threshold) + self.borderline

    def _refresh_due(self, track: TrackedFace, full: bool) -> bool:
        """Refreshes wait for a refine-only frame, so they never delay a newcomer's name."""
        every = self.refresh_every if track.match.known else self.refresh_unknown_every
        frames = track.frames_since_recognised + 1
        return frames >= every and (not full or frames >= every + self.detect_every)

    def _forget(self, known: list[TrackedFace], paired: set[int], refined: bool) -> list[TrackedFace]:
        """Age the lost list and move unpaired tracks to it; returns the tracks kept on their last box.

        A track that ``refine`` lost stays one frame on its last box, unconfirmed, and asks for a
        full detection on the next frame; one the full detector did not find is lost.
        """
        revived = {id(known[i]) for i in paired}
        lost = [(t, n + 1) for t, n in self._lost if id(t) not in revived and n + 1 <= self.keep_lost]
        unpaired = [t for i, t in enumerate(known[: len(self.tracks)]) if i not in paired]
        coasting = [t for t in unpaired if refined and not t.missed]
        self._lost = lost + [(replace(t, missed=0, confirmed=False), 0)
                             for t in unpaired if not (refined and not t.missed)]
        self._force_full = self._force_full or (refined and bool(unpaired))
        return [replace(t, missed=1, confirmed=False, frames_since_recognised=t.frames_since_recognised + 1)
                for t in coasting]

    def _recognise(self, frame: np.ndarray, detections: list[Detection], indices: list[int]) -> dict[int, Face]:
        if not indices:
            return {}
        faces = self.recognizer.recognise(frame, [detections[i] for i in indices])
        return dict(zip(indices, faces, strict=True))

    def _evidence(self, face: Face, now: float) -> Evidence:
        margin = 0.0
        if face.match.known:
            _, scores = self.recognizer.gallery.person_scores(face.embedding[None])
            ranked = np.sort(scores[0])[::-1]
            margin = float(ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0))
        return Evidence(now, face.match.person_id, float(face.match.similarity), margin)

    def _updated(self, detection: Detection, previous: TrackedFace | None, face: Face | None,
                 now: float) -> TrackedFace:
        if face is None:
            assert previous is not None
            return replace(previous, detection=detection, stable_frames=previous.stable_frames + 1,
                           frames_since_recognised=previous.frames_since_recognised + 1, missed=0,
                           confirmed=now - previous.embedded_at <= self.confirm_age)
        evidence = self._evidence(face, now)
        if previous is None:
            track = TrackedFace(self._next_id, detection, face.match, 1, 0, confirmed=True, embedded_at=now,
                                evidence=(evidence,))
            self._next_id += 1
            return track
        same = face.match.person_id == previous.match.person_id
        return replace(previous, detection=detection, match=face.match, missed=0, confirmed=True, embedded_at=now,
                       stable_frames=previous.stable_frames + 1 if same else 1, frames_since_recognised=0,
                       evidence=self._added(previous.evidence, evidence))

    def _added(self, evidence: tuple[Evidence, ...], new: Evidence) -> tuple[Evidence, ...]:
        """``evidence`` with ``new``: embeddings of the same person within ``evidence_spacing`` of the
        last kept one are one piece of evidence (with the weaker score and margin), so a face embedded
        on every frame still keeps seconds of history."""
        last = evidence[-1] if evidence else None
        if last is not None and last.person_id == new.person_id and new.time - last.time < self.evidence_spacing - EPS:
            merged = replace(last, similarity=min(last.similarity, new.similarity), margin=min(last.margin, new.margin))
            return evidence[:-1] + (merged,)
        return (evidence + (new,))[-EVIDENCE_KEPT:]


@dataclass
class AutoCheckin:
    """Who is due an automatic check-in: confirmed on independent evidence, not checked in recently.

    A person is due only when the face's ``evidence_needed`` newest embeddings, each at least
    ``spacing`` seconds after the one before, all name them above the threshold and at least
    ``margin`` ahead of the second-best person; the tracker's carried name never counts. One
    wrong match (a look-alike in a two-shot, a half-turned face) is therefore never enough. The
    store applies the cooldown too (it is the record of truth); this in-memory copy keeps the live
    loop from asking the database on every frame.
    """

    frames_needed: int = 5
    cooldown: timedelta = timedelta(minutes=30)
    evidence_needed: int = DEFAULT_EVIDENCE
    margin: float = DEFAULT_MARGIN
    spacing: float = EVIDENCE_SPACING
    _last: dict[int, datetime] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, cooldown: timedelta | None = None) -> AutoCheckin:
        """The rules as the user set them (``cooldown`` overrides the settings' minutes)."""
        return cls(settings.auto_checkin_frames,
                   cooldown if cooldown is not None else timedelta(minutes=settings.cooldown_minutes),
                   evidence_needed=settings.auto_checkin_evidence, margin=settings.auto_checkin_margin)

    def due(self, faces: list[TrackedFace], now: datetime | None = None) -> list[TrackedFace]:
        """The faces to check in now. Nothing is marked: call :meth:`recorded` once the write is committed,
        so a write that failed (a full disk, a busy database) is tried again on the next frame.

        A person named on two faces at once is left alone (one of the two is wrong)."""
        now = now or datetime.now(UTC)
        named = [f.match.person_id for f in faces if f.named]
        ready = []
        for face in faces:
            pid = face.match.person_id
            if pid is None or not face.named or named.count(pid) > 1 or face.stable_frames < self.frames_needed:
                continue
            if independent_evidence(face.evidence, pid, self.margin, self.spacing) < self.evidence_needed:
                continue
            last = self._last.get(pid)
            if last is not None and now - last < self.cooldown:
                continue
            ready.append(face)
        return ready

    def recorded(self, person_id: int, when: datetime) -> None:
        """The store holds a check-in of ``person_id`` at ``when`` (or refused one within its cooldown)."""
        self._last[person_id] = when

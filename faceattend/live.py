"""The live loop's recognition: track faces between full detections, recognise each track once.

Running the whole cascade and the embedder on every frame is what makes open-source face
recognition crawl on a CPU. Here a full detection runs every ``detect_every`` frames; in
between, the detector only re-checks last frame's boxes (its ``refine`` step, far cheaper), and a
face keeps its identity from frame to frame by box overlap. A face is embedded when it first
appears and again every ``refresh_every`` frames, so a mistaken name corrects itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from faceattend.pipeline import Recognizer
from faceattend.types import Detection, Match


@dataclass(frozen=True)
class TrackedFace:
    """A face followed across frames, with the identity it was last recognised as."""

    track_id: int
    detection: Detection
    match: Match
    stable_frames: int  # consecutive frames this track has kept the same identity
    frames_since_recognised: int = 0


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def associate(previous: list[Detection], current: list[Detection], min_iou: float) -> dict[int, int]:
    """Greedy one-to-one pairing current index -> previous index, best overlap first."""
    pairs = sorted(
        ((box_iou(p.box, c.box), ci, pi) for pi, p in enumerate(previous) for ci, c in enumerate(current)),
        reverse=True,
    )
    used_prev: set[int] = set()
    result: dict[int, int] = {}
    for iou, ci, pi in pairs:
        if iou < min_iou:
            break
        if ci not in result and pi not in used_prev:
            result[ci] = pi
            used_prev.add(pi)
    return result


@dataclass
class LiveRecognizer:
    """Stateful per video stream; call ``process`` with consecutive frames from one source."""

    recognizer: Recognizer
    detect_every: int = 4
    refresh_every: int = 15
    min_iou: float = 0.3
    tracks: list[TrackedFace] = field(default_factory=list)
    _frame_index: int = 0
    _next_id: int = 1

    def reset(self) -> None:
        self.tracks = []
        self._frame_index = 0

    def process(self, frame: np.ndarray) -> list[TrackedFace]:
        detector = self.recognizer.detector
        full = self._frame_index % self.detect_every == 0 or not self.tracks
        if full:
            detections = detector.detect(frame)
        else:
            detections = detector.refine(frame, [t.detection for t in self.tracks])
        self._frame_index += 1
        pairing = associate([t.detection for t in self.tracks], detections, self.min_iou)
        carried: list[TrackedFace | None] = []
        to_recognise: list[int] = []
        for ci, detection in enumerate(detections):
            previous = self.tracks[pairing[ci]] if ci in pairing else None
            if previous is None or previous.frames_since_recognised + 1 >= self.refresh_every:
                to_recognise.append(ci)
            carried.append(previous)
        matches = self._recognise(frame, detections, to_recognise)
        self.tracks = [
            self._updated(detection, carried[ci], matches.get(ci)) for ci, detection in enumerate(detections)
        ]
        return list(self.tracks)

    def _recognise(self, frame: np.ndarray, detections: list[Detection], indices: list[int]) -> dict[int, Match]:
        if not indices:
            return {}
        faces = self.recognizer.recognise(frame, [detections[i] for i in indices])
        return {i: face.match for i, face in zip(indices, faces)}

    def _updated(self, detection: Detection, previous: TrackedFace | None, match: Match | None) -> TrackedFace:
        if previous is None:
            assert match is not None
            track = TrackedFace(self._next_id, detection, match, 1, 0)
            self._next_id += 1
            return track
        if match is None:
            return replace(previous, detection=detection, stable_frames=previous.stable_frames + 1,
                           frames_since_recognised=previous.frames_since_recognised + 1)
        same = match.person_id == previous.match.person_id
        return replace(previous, detection=detection, match=match,
                       stable_frames=previous.stable_frames + 1 if same else 1, frames_since_recognised=0)


@dataclass
class AutoCheckin:
    """Who is due an automatic check-in: known, recognised steadily, not checked in recently.

    The store applies the cooldown too (it is the record of truth); this in-memory copy keeps
    the live loop from asking the database on every frame.
    """

    frames_needed: int = 5
    cooldown: timedelta = timedelta(minutes=30)
    _last: dict[int, datetime] = field(default_factory=dict)

    def due(self, faces: list[TrackedFace], now: datetime | None = None) -> list[TrackedFace]:
        now = now or datetime.now(timezone.utc)
        ready = []
        for face in faces:
            pid = face.match.person_id
            if pid is None or face.stable_frames < self.frames_needed:
                continue
            last = self._last.get(pid)
            if last is not None and now - last < self.cooldown:
                continue
            self._last[pid] = now
            ready.append(face)
        return ready

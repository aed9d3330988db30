"""The live loop's recognition: track faces between full detections, recognise each track once.

Running the whole cascade and the embedder on every frame is what makes open-source face
recognition crawl on a CPU. Here the full detector runs only now and then: on every frame while
no face is tracked, otherwise at most ``detect_every`` processed frames and ``detect_interval``
seconds apart (the time bound keeps a newcomer's wait short when frames are dropped), and on the
frame after a tracked face was lost. In between, the detector only re-checks last frame's boxes
(its ``refine`` step: ONet alone, a fraction of a full detection). A face keeps its identity from
frame to frame by box overlap; it is embedded when it first appears and again every
``refresh_every`` frames (``refresh_unknown_every`` while it is Unknown), so a mistaken name
corrects itself. The embeddings of all faces due in one frame go through the network as a batch.
A face that ``refine`` loses is not dropped at once: ONet alone rejects a borderline face (turned,
half lit) now and then where the full cascade still finds it, so the track is kept on its last box
for that one frame (``missed``) and the next frame runs the full detector, which decides. A face
the full detector no longer finds leaves the output and is remembered for ``keep_lost`` frames, so
a face that reappears where it vanished (a blink, a turn of the head) keeps its track, name and
steady count without a new embedding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
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
    missed: int = 0  # 1 while shown on its last box because refine lost it (a full detection follows)


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
    """Stateful per video stream; call ``process`` with consecutive frames from one source.

    The defaults were chosen with ``bench/live.py`` (2 CPU cores, 30 fps): see the README.
    """

    recognizer: Recognizer
    detect_every: int = 3
    detect_interval: float = 0.1  # seconds; math.inf leaves only the frame count
    refresh_every: int = 15
    refresh_unknown_every: int = 6
    keep_lost: int = 3
    min_iou: float = 0.3
    clock: Callable[[], float] = time.monotonic
    tracks: list[TrackedFace] = field(default_factory=list)
    full_detections: int = 0  # how many processed frames ran the full detector (for benchmarks)
    _lost: list[tuple[TrackedFace, int]] = field(default_factory=list)  # (track, frames since lost)
    _since_full: int = 0
    _last_full: float = -math.inf
    _force_full: bool = False
    _next_id: int = 1

    def reset(self) -> None:
        """Forget every face (new source, or the gallery changed): all are recognised afresh."""
        self.tracks, self._lost = [], []
        self._since_full, self._last_full, self._force_full = 0, -math.inf, False

    def process(self, frame: np.ndarray) -> list[TrackedFace]:
        """The faces in ``frame``, each with a track id and the identity it was recognised as."""
        full = self._full_due()
        if full:
            self._since_full, self._last_full, self._force_full = 0, self.clock(), False
            self.full_detections += 1
            detections = self.recognizer.detector.detect(frame)
        else:
            detections = self.recognizer.detector.refine(frame, [t.detection for t in self.tracks])
            self._since_full += 1
        # Lost tracks can only come back at a full detection: refine never looks for them.
        known = self.tracks + ([lost for lost, _ in self._lost] if full else [])
        pairing = associate([t.detection for t in known], detections, self.min_iou)
        carried = [known[pairing[ci]] if ci in pairing else None for ci in range(len(detections))]
        due = [ci for ci, previous in enumerate(carried) if previous is None or self._refresh_due(previous, full)]
        matches = self._recognise(frame, detections, due)
        coasting = self._forget(known, set(pairing.values()), refined=not full)
        self.tracks = [self._updated(d, carried[ci], matches.get(ci)) for ci, d in enumerate(detections)] + coasting
        return list(self.tracks)

    def _full_due(self) -> bool:
        if not self.tracks or self._force_full or self._since_full + 1 >= self.detect_every:
            return True
        return self.clock() - self._last_full >= self.detect_interval

    def _refresh_due(self, track: TrackedFace, full: bool) -> bool:
        """Refreshes wait for a refine-only frame, so they never delay a newcomer's name."""
        every = self.refresh_every if track.match.known else self.refresh_unknown_every
        frames = track.frames_since_recognised + 1
        return frames >= every and (not full or frames >= every + self.detect_every)

    def _forget(self, known: list[TrackedFace], paired: set[int], refined: bool) -> list[TrackedFace]:
        """Age the lost list and move unpaired tracks to it; returns the tracks kept on their last box.

        A track that ``refine`` lost stays one frame on its last box and asks for a full
        detection on the next frame; one the full detector did not find is lost.
        """
        revived = {id(known[i]) for i in paired}
        lost = [(t, n + 1) for t, n in self._lost if id(t) not in revived and n + 1 <= self.keep_lost]
        unpaired = [t for i, t in enumerate(known[: len(self.tracks)]) if i not in paired]
        coasting = [t for t in unpaired if refined and not t.missed]
        self._lost = lost + [(replace(t, missed=0), 0) for t in unpaired if not (refined and not t.missed)]
        self._force_full = self._force_full or (refined and bool(unpaired))
        return [replace(t, missed=1, frames_since_recognised=t.frames_since_recognised + 1) for t in coasting]

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
                           frames_since_recognised=previous.frames_since_recognised + 1, missed=0)
        same = match.person_id == previous.match.person_id
        return replace(previous, detection=detection, match=match, missed=0,
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

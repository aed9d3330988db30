"""Accuracy protocols: LFW pair verification and open-set identification the way attendance works.

Both embed each image once: the face nearest the image centre (benchmark photos are centred on
their subject); when the detector finds no face, the image is embedded from the median landmark
positions of the faces found in the same set, and the count is reported, never hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from faceattend.align import align_face
from faceattend.errors import UserError
from faceattend.images import is_image_file, load_image
from faceattend.match import Gallery
from faceattend.pipeline import Recognizer
from faceattend.types import Detection

Progress = Callable[[int, int], None]


@dataclass
class EmbeddedSet:
    embeddings: np.ndarray  # (N, D)
    no_face: list[str] = field(default_factory=list)


def central_face(detections: Sequence[Detection], width: int, height: int) -> Detection:
    """The face nearest the image centre: the photo's subject, in a photo that shows several."""
    cx, cy = width / 2, height / 2

    def distance(d: Detection) -> float:
        return ((d.box[0] + d.box[2]) / 2 - cx) ** 2 + ((d.box[1] + d.box[3]) / 2 - cy) ** 2

    return min(detections, key=distance)


def embed_images(recognizer: Recognizer, paths: Sequence[Path], batch: int = 32,
                 progress: Progress | None = None) -> EmbeddedSet:
    """One embedding per image (see module docstring for the no-face rule)."""
    crops: list[np.ndarray | None] = [None] * len(paths)
    relative_landmarks: list[np.ndarray] = []
    missing: list[tuple[int, np.ndarray]] = []
    for start in range(0, len(paths), batch):
        frames = [load_image(p) for p in paths[start:start + batch]]
        for offset, (frame, found) in enumerate(zip(frames, detect_all(recognizer.detector, frames), strict=True)):
            h, w = frame.shape[:2]
            if found:
                face = central_face(found, w, h)
                crops[start + offset] = align_face(frame, face.landmarks)
                relative_landmarks.append(face.landmarks / np.array([w, h], np.float32))
            else:
                missing.append((start + offset, frame))
        if progress:
            progress(min(start + batch, len(paths)), len(paths))
    if missing:
        if not relative_landmarks:
            raise UserError("no face was found in any image")
        typical = np.median(np.stack(relative_landmarks), axis=0)
        for index, frame in missing:
            h, w = frame.shape[:2]
            crops[index] = align_face(frame, typical * np.array([w, h], np.float32))
    stacked = np.stack([c for c in crops if c is not None])
    embeddings = np.concatenate([recognizer.embedder.embed(stacked[i:i + 64])
                                 for i in range(0, len(stacked), 64)])
    return EmbeddedSet(embeddings, [str(paths[i]) for i, _ in missing])


class FrameDetector(Protocol):
    """What :func:`detect_all` needs; ``detect_batch`` is used when the detector has it."""

    def detect(self, frame: np.ndarray) -> list[Detection]: ...


def detect_all(detector: FrameDetector, frames: list[np.ndarray]) -> list[list[Detection]]:
    """Same-size frames go through the detector as one batch (several times faster)."""
    batch = getattr(detector, "detect_batch", None)
    if batch is not None and len({f.shape for f in frames}) == 1:
        return list(batch(frames))
    return [detector.detect(f) for f in frames]


# -- LFW verification -----------------------------------------------------------------------
@dataclass
class PairsFile:
    folds: int
    pairs: list[tuple[Path, Path, bool]]  # in file order: fold after fold


def read_pairs(pairs_file: Path, images: Path) -> PairsFile:
    """LFW ``pairs.txt`` format: ``folds n``, then per fold n same and n different lines."""
    lines = [line.split() for line in pairs_file.read_text().splitlines() if line.strip()]
    folds, per_fold = int(lines[0][0]), int(lines[0][1])
    pairs = []
    for parts in lines[1:]:
        if len(parts) == 3:
            name, i, j = parts
            pairs.append((_lfw_path(images, name, i), _lfw_path(images, name, j), True))
        elif len(parts) == 4:
            pairs.append((_lfw_path(images, parts[0], parts[1]), _lfw_path(images, parts[2], parts[3]), False))
        else:
            raise UserError(f"{pairs_file}: cannot read line {' '.join(parts)!r}")
    if len(pairs) != folds * per_fold * 2:
        raise UserError(f"{pairs_file}: expected {folds * per_fold * 2} pairs, found {len(pairs)}")
    return PairsFile(folds, pairs)


def _lfw_path(images: Path, name: str, index: str) -> Path:
    return images / name / f"{name}_{int(index):04d}.jpg"


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The similarity threshold with the highest accuracy on these pairs."""
    if not len(scores):
        raise UserError("no usable pair to choose a threshold on (are the other folds' images missing?)")
    candidates = np.unique(scores)
    midpoints = np.concatenate([[candidates[0] - 1e-6], (candidates[:-1] + candidates[1:]) / 2,
                                [candidates[-1] + 1e-6]])
    accuracy = [np.mean((scores >= t) == same) for t in midpoints]
    return float(midpoints[int(np.argmax(accuracy))])


def verify_lfw(recognizer: Recognizer, pairs_file: Path, images: Path,
               progress: Progress | None = None) -> dict[str, object]:
    """Standard protocol: per fold, threshold chosen on the other folds, accuracy on this one."""
    parsed = read_pairs(pairs_file, images)
    unique = sorted({p for a, b, _ in parsed.pairs for p in (a, b)})
    missing = {p for p in unique if not p.is_file()}
    if len(missing) == len(unique):
        raise FileNotFoundError(f"none of the images of {pairs_file} are in {images}")
    present = [p for p in unique if p not in missing]
    embedded = embed_images(recognizer, present, progress=progress)
    index = {p: i for i, p in enumerate(present)}
    scores = np.array([
        float(embedded.embeddings[index[a]] @ embedded.embeddings[index[b]])
        if a in index and b in index else np.nan for a, b, _ in parsed.pairs])
    same = np.array([s for _, _, s in parsed.pairs])
    fold_of = np.repeat(np.arange(parsed.folds), len(parsed.pairs) // parsed.folds)
    usable = ~np.isnan(scores)
    accuracies, thresholds = [], []
    for fold in range(parsed.folds):
        train = (fold_of != fold) & usable
        threshold = best_threshold(scores[train], same[train])
        test = fold_of == fold
        # A pair whose image is missing counts as an error: never dropped, never a free point.
        correct = np.where(usable[test], (scores[test] >= threshold) == same[test], False)
        accuracies.append(float(np.mean(correct)))
        thresholds.append(threshold)
    return {
        "pairs": len(parsed.pairs), "folds": parsed.folds,
        "accuracy_mean": float(np.mean(accuracies)), "accuracy_std": float(np.std(accuracies)),
        "fold_accuracies": accuracies, "thresholds": thresholds, "images": len(unique),
        "missing_images": {"count": len(missing), "images": sorted(map(str, missing)),
                           "pairs_counted_as_errors": int((~usable).sum())},
        "no_face": {"count": len(embedded.no_face), "images": embedded.no_face,
                    "fallback": "aligned from the median landmark positions of the detected faces"},
    }


# -- open-set identification ----------------------------------------------------------------
#: The thresholds the JSON's ``curve`` lists and that :func:`lowest_threshold_on_grid` picks from.
THRESHOLD_GRID = tuple(round(0.20 + 0.01 * i, 2) for i in range(61))  # 0.20-0.80


def identity_folders(root: Path, people: Collection[str] | None = None) -> dict[str, list[Path]]:
    """Each identity sub-folder's photos; only the named ``people`` when given (a split's side)."""
    wanted = None if people is None else set(people)
    found = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if wanted is not None and folder.name not in wanted:
            continue
        photos = sorted(p for p in folder.iterdir() if is_image_file(p))
        if photos:
            found[folder.name] = photos
    return found


def read_people(path: Path) -> list[str]:
    """A people list: one folder name a line; blank lines and ``#`` comments ignored."""
    names = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n]


def people_in_folds(pairs_file: Path, folds: Collection[int]) -> list[str]:
    """Everyone named in the given folds (numbered from 1) of an LFW ``pairs.txt``.

    LFW View 2's folds have disjoint people, so the people of some folds can choose a setting
    and the people of the others report it, as with the pairs themselves.
    """
    lines = [line.split() for line in pairs_file.read_text().splitlines() if line.strip()]
    count, per_fold = int(lines[0][0]), int(lines[0][1])
    if not set(folds) <= set(range(1, count + 1)):
        raise UserError(f"{pairs_file} has folds 1-{count}, not {sorted(folds)}")
    names: set[str] = set()
    for k, parts in enumerate(lines[1:]):
        if k // (2 * per_fold) + 1 in folds:
            names.update(parts[0::2] if len(parts) == 4 else parts[:1])
    return sorted(names)


def threshold_at_far(stranger_scores: np.ndarray, far: float) -> float:
    """The lowest threshold that accepts at most ``far`` of the strangers."""
    ordered = np.sort(stranger_scores)[::-1]
    allowed = int(np.floor(far * len(ordered)))
    return float(np.nextafter(ordered[allowed], np.inf)) if allowed < len(ordered) else float(ordered[-1])


def lowest_threshold_on_grid(stranger_scores: np.ndarray, far: float = 0.01, step: float = 0.01) -> float:
    """The rule the default threshold is chosen by: the lowest multiple of ``step`` that accepts
    at most ``far`` of the strangers (a stranger is accepted when their score reaches it)."""
    exact = threshold_at_far(stranger_scores, far)
    t = round(np.ceil(exact / step - 1e-9) * step, 10)
    while np.mean(stranger_scores >= t) > far:  # guards the rounding; at most a step or two
        t = round(t + step, 10)
    return float(t)


@dataclass
class OpenSetSplit:
    """Who enrols which photos, which photos probe them, and the strangers (one photo each)."""

    names: list[str]                     # enrolled people; their index is their id below
    gallery: list[tuple[int, Path]]
    probes: list[tuple[int, Path]]
    strangers: list[Path]

    @property
    def paths(self) -> list[Path]:
        """Gallery, then probes, then strangers: the order the scoring functions expect."""
        return [p for _, p in self.gallery] + [p for _, p in self.probes] + self.strangers


def open_set_split(root: Path, enrol: int, people: Collection[str] | None = None) -> OpenSetSplit:
    """People with more than ``enrol`` photos enrol their first ``enrol`` and are probed with
    the rest; people with exactly one photo are strangers. Shared with the peers' script
    (bench/peers_accuracy.py) so every contender faces the same photos."""
    folders = identity_folders(root, people)
    enrolled = {n: p for n, p in folders.items() if len(p) >= enrol + 1}
    strangers = [p[0] for p in folders.values() if len(p) == 1]
    if not enrolled or not strangers:
        raise UserError(f"{root} needs people with at least {enrol + 1} photos and people with exactly one")
    return OpenSetSplit(
        list(enrolled),
        [(i, p) for i, ps in enumerate(enrolled.values()) for p in ps[:enrol]],
        [(i, p) for i, ps in enumerate(enrolled.values()) for p in ps[enrol:]],
        strangers)


def score_open_set(probe_scores: np.ndarray, truth: np.ndarray, stranger_scores: np.ndarray,
                   threshold: float, grid: Sequence[float] = THRESHOLD_GRID) -> dict[str, object]:
    """Open-set figures from each probe's and stranger's best score per enrolled person ((N, P),
    higher is more alike; ``-inf`` where no face was found, which a threshold never accepts).

    rank-1 ignores the threshold; DIR counts a probe when its best person is right *and* reaches
    the threshold; FAR is the share of strangers whose best score reaches it.
    """
    best = probe_scores.argmax(axis=1)
    best_score = probe_scores.max(axis=1)
    stranger_best = stranger_scores.max(axis=1)
    found = np.isfinite(best_score)

    def rates(t: float) -> tuple[float, float]:
        return float(np.mean((best == truth) & found & (best_score >= t))), float(np.mean(stranger_best >= t))

    t1 = threshold_at_far(stranger_best, 0.01)
    dir1, far1 = rates(t1)
    dir_t, far_t = rates(threshold)
    return {
        "probes": len(truth), "strangers": len(stranger_best),
        "rank1": float(np.mean((best == truth) & found)),
        "dir_at_far1": dir1, "threshold_at_far1": t1, "far_at_far1_threshold": far1,
        "lowest_grid_threshold_at_far1": lowest_threshold_on_grid(stranger_best),
        "threshold": threshold, "dir_at_threshold": dir_t, "far_at_threshold": far_t,
        # Both rates across the useful range, for choosing a threshold (README, "Choosing the threshold").
        "curve": [{"threshold": t, "dir": d, "far": f} for t in grid for d, f in [rates(t)]],
    }


def identify_open_set(recognizer: Recognizer, root: Path, enrol: int, threshold: float,
                      progress: Progress | None = None,
                      people: Collection[str] | None = None) -> dict[str, object]:
    """Enrol the first ``enrol`` photos of people with more; probe with the rest and strangers.

    ``people`` restricts the run to those folder names (e.g. one side of a choose/report split).
    """
    split = open_set_split(root, enrol, people)
    embedded = embed_images(recognizer, split.paths, progress=progress)
    g, q = len(split.gallery), len(split.probes)
    gallery = Gallery(embedded.embeddings[:g], [i for i, _ in split.gallery], dict(enumerate(split.names)))
    people_ids, probe_scores = gallery.person_scores(embedded.embeddings[g:g + q])
    _, stranger_scores = gallery.person_scores(embedded.embeddings[g + q:])
    # Columns are person ids in the gallery's order; map them so argmax gives the id itself.
    order = np.argsort(people_ids)
    truth = np.array([i for i, _ in split.probes])
    result = score_open_set(probe_scores[:, order], truth, stranger_scores[:, order], threshold)
    return {
        "enrolled_people": len(split.names), "enrol": enrol,
        "people_restricted": people is not None, **result,
        "no_face": {"count": len(embedded.no_face), "images": embedded.no_face,
                    "fallback": "aligned from the median landmark positions of the detected faces"},
    }

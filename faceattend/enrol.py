"""Enrolment: turning photos (or frames of a video) of a person into stored face samples.

Each photo's face goes through the quality gate (:mod:`faceattend.quality`): an unusable face
is refused with its reason, a weak one is enrolled with its reasons reported, and the report
says when a person ends up with weak samples only. A person's samples are written in one
transaction: all of them or none, so a full disk never leaves someone half-enrolled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceattend.errors import UserError
from faceattend.images import ImageError, is_image_file, load_image
from faceattend.pipeline import Recognizer
from faceattend.quality import Quality, assess
from faceattend.store import Store, StoreError
from faceattend.types import Face


@dataclass
class Candidate:
    """One face offered for enrolment, where it came from and what is wrong with it."""

    source: str
    face: Face
    quality: Quality


@dataclass
class EnrolReport:
    person_id: int
    name: str
    added: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    look_alikes: list[tuple[str, str, float]] = field(default_factory=list)  # (source, other, similarity)
    weak: list[tuple[str, str]] = field(default_factory=list)  # (source, reasons) of added samples
    failed: str | None = None  # why nothing was saved (the store refused the write)
    earlier_samples: int = 0  # samples the person already had

    @property
    def only_weak(self) -> bool:
        """Every sample added is weak and the person had none before: recognition will be poor."""
        return bool(self.added) and len(self.weak) == len(self.added) and not self.earlier_samples


def save_face(store: Store, person_id: int, face: Face, model: str, source: str) -> int:
    return store.add_sample(person_id, face.embedding, model, face.crop, face.detection.score, source)


def look_alike(recognizer: Recognizer, face: Face, person_id: int) -> tuple[str, float] | None:
    """Someone else already enrolled whom this face matches (a mix-up or a double enrolment)."""
    match = recognizer.identify(face.embedding[None])[0]
    if match.known and match.person_id != person_id:
        return str(match.name), match.similarity
    return None


def photo_candidate(recognizer: Recognizer, photo: Path, pad: bool = True) -> Candidate:
    """The photo's one face, padded as it needs (``pad=False``: as before padding existed), with its quality.

    Raises :class:`UserError` (an ``ImageError``, a ``FaceCountError`` or one naming the quality
    problem) with the reason the photo is refused.
    """
    image = load_image(photo)
    try:
        face = recognizer.single_face(image, str(photo), pad=pad)
    except cv2.error as error:  # a decoder or detector limit: this photo only, never the batch
        raise ImageError(f"{photo} could not be processed ({error.err or error})") from None
    quality = assess(face, image.shape)
    if quality.unusable:
        raise UserError("; ".join(quality.unusable))
    return Candidate(str(photo), face, quality)


def photo_candidates(recognizer: Recognizer, photos: Iterable[Path],
                     pad: bool = True) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Usable faces of ``photos`` and (photo, reason) for each one refused; never raises for one photo."""
    candidates: list[Candidate] = []
    refused: list[tuple[str, str]] = []
    for photo in photos:
        try:
            candidates.append(photo_candidate(recognizer, Path(photo), pad))
        except (UserError, MemoryError) as error:  # ImageError, FaceCountError, a quality problem
            refused.append((str(photo), str(error) or type(error).__name__))
    return candidates, refused


def enrol_candidates(
    store: Store, recognizer: Recognizer, name: str, candidates: list[Candidate],
    external_id: str | None = None, group: str | None = None, add_to_existing: bool = False,
) -> EnrolReport:
    """Store ``candidates`` as samples of ``name`` (created if new), all in one transaction.

    If any write fails, nothing of this call stays: not the new person, not a single sample;
    ``failed`` says why. A new person with no candidate is not created. A name that is already
    enrolled (compared as the store compares names) takes new samples only when each of them
    matches that person, or when ``add_to_existing`` says the caller knows it is them: two
    different John Smiths must never silently become one identity.
    """
    existing = store.find_person(name)
    report = EnrolReport(existing.id if existing else -1, existing.name if existing else name,
                         earlier_samples=existing.sample_count if existing else 0)
    if not candidates:
        return report
    if existing is not None and not add_to_existing:
        report.failed = _not_the_same_person(recognizer, existing.id, existing.name, candidates)
        if report.failed:
            return report
    try:
        with store.write(f"cannot enrol {name}"):  # nested writes join this one transaction
            person_id = existing.id if existing else store.add_person(name, external_id, group)
            for candidate in candidates:
                save_face(store, person_id, candidate.face, recognizer.model_name, candidate.source)
    except StoreError as error:
        report.failed = str(error)
        return report
    report.person_id, report.name = person_id, store.person(person_id).name
    for candidate in candidates:
        other = look_alike(recognizer, candidate.face, person_id)
        if other is not None:
            report.look_alikes.append((candidate.source, *other))
        if candidate.quality.weak:
            report.weak.append((candidate.source, "; ".join(candidate.quality.weak)))
        report.added.append(candidate.source)
    return report


def _not_the_same_person(recognizer: Recognizer, person_id: int, name: str, candidates: list[Candidate]) -> str | None:
    """Why these faces may not be added to the enrolled ``name`` without ``--add-to`` (None: they match)."""
    people, scores = recognizer.gallery.person_scores(np.stack([c.face.embedding for c in candidates]))
    column = np.flatnonzero(people == person_id)
    for row, candidate in enumerate(candidates):
        match = recognizer.identify(candidate.face.embedding[None])[0]
        if match.person_id != person_id:
            similarity = f"similarity {float(scores[row, column[0]]):.2f}" if column.size else "no samples to compare"
            return (f"'{name}' is already enrolled and {candidate.source} does not look like them ({similarity}); "
                    f"if it is the same person, add --add-to; if it is someone else, enrol them under a name "
                    f"that tells the two apart")
    return None


def enrol_photos(
    store: Store, recognizer: Recognizer, name: str, photos: Iterable[Path],
    external_id: str | None = None, group: str | None = None, add_to_existing: bool = False,
) -> EnrolReport:
    """Add every usable photo as a sample of ``name`` (created if new).

    A photo with no face, several faces, an unusable face or unreadable is refused and named in
    the report; the others are still enrolled, all together or (if the store fails) not at all.
    """
    candidates, refused = photo_candidates(recognizer, photos)
    report = enrol_candidates(store, recognizer, name, candidates, external_id, group, add_to_existing)
    report.refused = refused + report.refused
    return report


def folder_plan(folder: Path) -> dict[str, list[Path]]:
    """People and their photos from a folder: a sub-folder per person, or ``name_anything.jpg``."""
    plan: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            photos = sorted(p for p in entry.iterdir() if is_image_file(p))
            if photos:
                plan.setdefault(entry.name.replace("_", " "), []).extend(photos)
        elif is_image_file(entry) and "_" in entry.stem:
            plan.setdefault(entry.stem.split("_", 1)[0], []).append(entry)
    return plan

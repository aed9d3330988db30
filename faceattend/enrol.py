"""Enrolment: turning photos (or captured frames) of a person into stored face samples."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from faceattend.images import ImageError, is_image_file, load_image
from faceattend.pipeline import FaceCountError, Recognizer
from faceattend.store import Store
from faceattend.types import Face


@dataclass
class EnrolReport:
    person_id: int
    name: str
    added: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    look_alikes: list[tuple[str, str, float]] = field(default_factory=list)  # (source, other, similarity)


def save_face(store: Store, person_id: int, face: Face, model: str, source: str) -> int:
    return store.add_sample(person_id, face.embedding, model, face.crop, face.detection.score, source)


def look_alike(recognizer: Recognizer, face: Face, person_id: int) -> tuple[str, float] | None:
    """Someone else already enrolled whom this face matches (a mix-up or a double enrolment)."""
    match = recognizer.identify(face.embedding[None])[0]
    if match.known and match.person_id != person_id:
        return str(match.name), match.similarity
    return None


def enrol_photos(
    store: Store, recognizer: Recognizer, name: str, photos: Iterable[Path],
    external_id: str | None = None, group: str | None = None,
) -> EnrolReport:
    """Add every usable photo as a sample of ``name`` (created if new).

    A photo with no face, several faces or unreadable is refused and named in the report; the
    others are still enrolled. A new person with no usable photo is not created.
    """
    faces: list[tuple[str, Face]] = []
    refused: list[tuple[str, str]] = []
    for photo in photos:
        try:
            faces.append((str(photo), recognizer.single_face(load_image(photo), str(photo))))
        except (ImageError, FaceCountError) as error:
            refused.append((str(photo), str(error)))
    existing = store.find_person(name)
    if existing is None and not faces:
        return EnrolReport(-1, name, refused=refused)
    person_id = existing.id if existing else store.add_person(name, external_id, group)
    report = EnrolReport(person_id, store.person(person_id).name, refused=refused)
    for source, face in faces:
        other = look_alike(recognizer, face, person_id)
        if other is not None:
            report.look_alikes.append((source, *other))
        save_face(store, person_id, face, recognizer.model_name, source)
        report.added.append(source)
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

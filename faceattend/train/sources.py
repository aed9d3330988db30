"""Where training faces come from: the app's database, or folders of photos.

From the database: the aligned crops stored with every sample (the same crops the gallery was
embedded from). From folders: photos detected and aligned by the app's own pipeline, one face
per photo (the one nearest the centre when there are several; photos with none are skipped
and counted, since a guessed crop would teach the network a wrong face).

The faces of people *not* chosen are what keep strangers unknown (see ``data.TrainData``):
they are split between a reference set the network must keep embedding as before and a
stranger set that measures false accepts. Nothing is downloaded and no third-party photos ship
with the app, so these faces can only be the user's own: the other enrolled people, and
optionally a folder of other faces the user points to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from faceattend.align import align_face
from faceattend.evaluate import FrameDetector as Detector
from faceattend.evaluate import central_face, detect_all, identity_folders
from faceattend.images import ImageError, is_image_file, load_image
from faceattend.store import Store
from faceattend.train.data import FaceSet, TrainData, assemble, concat, split_pool

ProgressFn = Callable[[int, int], None]


def store_faces(store: Store, people: Iterable[int], sample_ids: Iterable[int] | None = None) -> FaceSet:
    """Crops of ``people`` (all their samples, or only ``sample_ids``) from the database."""
    wanted = None if sample_ids is None else set(sample_ids)
    names = {p.id: p.name for p in store.people()}
    crops, labels, ids = [], [], []
    for person in people:
        for sample in store.samples(person_id=person):
            if wanted is None or sample.id in wanted:
                crop = store.sample_crop_or_none(sample.id)
                if crop is None:  # its face image was deleted by retention: nothing to train on
                    continue
                crops.append(crop)
                labels.append(person)
                ids.append(sample.id)
    if not crops:
        return FaceSet.empty()
    return FaceSet(np.stack(crops), np.array(labels, np.int64), {p: names[p] for p in set(labels)},
                   np.array(ids, np.int64))


def detect_crops(detector: Detector, paths: Sequence[Path], progress: ProgressFn | None = None,
                 chunk: int = 16) -> tuple[np.ndarray, list[int], list[str]]:
    """(crops, index of the path each came from, skipped paths with the reason)."""
    crops, kept, skipped = [], [], []
    for start in range(0, len(paths), chunk):
        frames: list[tuple[int, np.ndarray]] = []
        for index in range(start, min(start + chunk, len(paths))):
            try:
                frames.append((index, load_image(paths[index])))
            except ImageError as error:
                skipped.append(f"{paths[index]}: {error}")
        found_all = detect_all(detector, [f for _, f in frames]) if frames else []
        for (index, frame), found in zip(frames, found_all, strict=True):
            if found:
                face = central_face(found, frame.shape[1], frame.shape[0])
                crops.append(align_face(frame, face.landmarks))
                kept.append(index)
            else:
                skipped.append(f"{paths[index]}: no face found")
        if progress:
            progress(min(start + chunk, len(paths)), len(paths))
    array = np.stack(crops) if crops else np.zeros((0, 112, 112, 3), np.uint8)
    return array, kept, skipped


def folder_faces(detector: Detector, root: Path, progress: ProgressFn | None = None,
                 first_label: int = -1, per_person: int | None = None) -> tuple[FaceSet, list[str]]:
    """Faces from a folder: one identity per sub-folder; loose photos are one identity each.

    Labels count down from ``first_label`` (negative, so they never collide with the ids of
    people in the database). ``per_person`` caps the photos read per identity.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    people = identity_folders(root)
    loose = sorted(p for p in root.iterdir() if is_image_file(p))
    plan = [(name, photos[:per_person] if per_person else photos) for name, photos in people.items()]
    plan += [(p.stem, [p]) for p in loose]
    paths = [p for _, photos in plan for p in photos]
    owner = [first_label - i for i, (_, photos) in enumerate(plan) for _ in photos]
    crops, kept, skipped = detect_crops(detector, paths, progress)
    labels = np.array([owner[i] for i in kept], np.int64)
    names = {first_label - i: name for i, (name, _) in enumerate(plan)}
    names = {k: v for k, v in names.items() if k in set(labels.tolist())}
    return FaceSet(crops, labels, names, np.full(len(labels), -1, np.int64)), skipped


def store_data(
    store: Store, chosen: Sequence[int], sample_ids: Iterable[int] | None = None,
    extra: FaceSet | None = None, holdout: float = 0.3, seed: int = 0,
) -> TrainData:
    """The four sets for fine-tuning on ``chosen`` people of the database.

    The other enrolled people, plus the faces in ``extra`` (e.g. :func:`folder_faces` of a
    folder the user chose), are split alternately into reference and strangers.
    """
    others = [p.id for p in store.people() if p.id not in set(chosen) and p.sample_count]
    faces = concat([store_faces(store, chosen, sample_ids), store_faces(store, others), extra or FaceSet.empty()])
    pool = others + ([] if extra is None else extra.people)
    reference, strangers = split_pool(pool)
    return assemble(faces, chosen, reference, strangers, holdout=holdout, seed=seed)


def folder_data(detector: Detector, root: Path, extra_root: Path | None = None, holdout: float = 0.3,
                stranger_share: float = 0.2, seed: int = 0, progress: ProgressFn | None = None,
                ) -> tuple[TrainData, list[str]]:
    """The four sets from a folder of identity sub-folders (``faceattend train --dataset``).

    People with two photos or more are trained on, except a ``stranger_share`` of them (and
    everyone with a single photo) who become the pool of other faces, split as in the app.
    """
    faces, skipped = folder_faces(detector, root, progress)
    extra = FaceSet.empty()
    if extra_root is not None:
        extra, more = folder_faces(detector, extra_root, progress, first_label=-1_000_000)
        skipped += more
    counts = {p: int((faces.labels == p).sum()) for p in faces.people}
    trainable = [p for p, n in counts.items() if n >= 2]
    rng = np.random.default_rng(seed)
    pooled = rng.permutation(trainable)[: int(round(len(trainable) * stranger_share))].tolist()
    chosen = [p for p in trainable if p not in set(pooled)]
    pool = pooled + [p for p, n in counts.items() if n < 2] + extra.people
    reference, strangers = split_pool(pool)
    data = assemble(concat([faces, extra]), chosen, reference, strangers, holdout=holdout, seed=seed)
    return data, skipped

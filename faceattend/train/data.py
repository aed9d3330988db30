"""Training data: face sets, the per-person split, and batches that hold several faces per person.

Numpy only. Four sets, each with a job (see :class:`TrainData`), so that what is measured is
never what was trained on: held-out samples of the chosen people measure identification, and
whole people held out as strangers measure false accepts. Another, disjoint set of other
people's faces (the *reference* set) is what keeps the network's view of strangers in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from faceattend.errors import UserError

#: Fewer samples than this and a person is still trained on but cannot be evaluated.
MIN_SAMPLES = 2
#: The wizard warns below this: with fewer, a held-out split leaves too little to learn from.
RECOMMENDED_SAMPLES = 4


@dataclass(frozen=True, eq=False)
class FaceSet:
    """Aligned crops with who each one is.

    ``labels`` are person ids (store ids, or folder indices), ``names`` maps them to names, and
    ``sample_ids`` are store sample ids (-1 for faces read from files).
    """

    crops: np.ndarray  # (N, 112, 112, 3) uint8 RGB
    labels: np.ndarray  # (N,) int64
    names: Mapping[int, str] = field(default_factory=dict)
    sample_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.crops.ndim != 4 or self.crops.shape[1:] != (112, 112, 3) or self.crops.dtype != np.uint8:
            raise ValueError(f"crops must be (N, 112, 112, 3) uint8, got {self.crops.shape} {self.crops.dtype}")
        if len(self.labels) != len(self.crops):
            raise ValueError("need one label per crop")

    @classmethod
    def empty(cls) -> FaceSet:
        return cls(np.zeros((0, 112, 112, 3), np.uint8), np.zeros(0, np.int64), {})

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def people(self) -> list[int]:
        return sorted({int(v) for v in self.labels})

    def take(self, index: np.ndarray | Sequence[int]) -> FaceSet:
        index = np.asarray(index, dtype=np.int64)
        ids = None if self.sample_ids is None else self.sample_ids[index]
        kept = {int(v) for v in self.labels[index]}
        names = {k: v for k, v in self.names.items() if k in kept}
        return FaceSet(self.crops[index], self.labels[index], names, ids)

    def of_people(self, people: Iterable[int]) -> FaceSet:
        wanted = np.isin(self.labels, np.fromiter(people, np.int64))
        return self.take(np.flatnonzero(wanted))


def concat(sets: Sequence[FaceSet]) -> FaceSet:
    """One set from several (names merged; sample ids kept only if every part has them)."""
    sets = [s for s in sets if len(s)]
    if not sets:
        return FaceSet.empty()
    names: dict[int, str] = {}
    for s in sets:
        names.update(s.names)
    ids = None
    if all(s.sample_ids is not None for s in sets):
        ids = np.concatenate([s.sample_ids for s in sets])
    return FaceSet(np.concatenate([s.crops for s in sets]), np.concatenate([s.labels for s in sets]), names, ids)


@dataclass(frozen=True, eq=False)
class TrainData:
    """What one fine-tuning run sees.

    - ``train``: the chosen people's training samples; also the gallery during evaluation.
    - ``heldout``: the chosen people's other samples; probes for the identification rate.
    - ``reference``: other people's faces the network must keep embedding as the stock model
      does (distillation): this is what keeps strangers unknown.
    - ``strangers``: people held out entirely; probes for the false-accept rate.
    """

    train: FaceSet
    heldout: FaceSet
    reference: FaceSet
    strangers: FaceSet
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> dict[int, str]:
        return {**self.train.names, **self.heldout.names}


def holdout_count(n: int, fraction: float) -> int:
    """Held-out samples for a person with ``n``: at least one once there are three, and
    never so many that fewer than two remain to train on (a triplet needs a positive pair)."""
    if n < 3:
        return 0
    return int(min(max(1, round(n * fraction)), n - 2))


def split_people(faces: FaceSet, fraction: float, seed: int) -> tuple[FaceSet, FaceSet, list[str]]:
    """Per person: a random ``fraction`` of samples held out, the rest for training."""
    rng = np.random.default_rng(seed)
    train_idx: list[np.ndarray] = []
    held_idx: list[np.ndarray] = []
    notes = []
    for person in faces.people:
        index = rng.permutation(np.flatnonzero(faces.labels == person))
        count = holdout_count(len(index), fraction)
        held_idx.append(index[:count])
        train_idx.append(index[count:])
        name = faces.names.get(person, str(person))
        if len(index) < MIN_SAMPLES + 1:
            notes.append(f"{name}: only {len(index)} sample(s), trained on but not evaluated")
    train = faces.take(np.concatenate(train_idx)) if train_idx else FaceSet.empty()
    held = faces.take(np.concatenate(held_idx)) if held_idx else FaceSet.empty()
    return train, held, notes


def split_pool(people: Sequence[int]) -> tuple[list[int], list[int]]:
    """(reference, strangers) from the people not chosen, alternately.

    The reference set gets the odd one out: keeping strangers unknown matters more than
    measuring it. A single person goes to the strangers, since distilling on one face teaches
    little while a false-accept figure needs at least someone.
    """
    ordered = sorted(people)
    if len(ordered) == 1:
        return [], ordered
    return ordered[0::2], ordered[1::2]


def assemble(
    faces: FaceSet, chosen: Sequence[int], reference: Sequence[int], strangers: Sequence[int],
    extra_reference: FaceSet | None = None, holdout: float = 0.3, seed: int = 0,
) -> TrainData:
    """Split ``faces`` into the four sets of :class:`TrainData` (people lists must be disjoint)."""
    if set(chosen) & (set(reference) | set(strangers)) or set(reference) & set(strangers):
        raise UserError("chosen, reference and stranger people must be different people")
    train, held, notes = split_people(faces.of_people(chosen), holdout, seed)
    ref = concat([faces.of_people(reference), extra_reference or FaceSet.empty()])
    strange = faces.of_people(strangers)
    if len(train.people) < 2:
        raise UserError("choose at least two people to train on")
    if not len(ref):
        notes.append("no faces of other people: strangers are not protected from drifting "
                     "(enrol more people or choose a folder of other faces)")
    if not len(strange):
        notes.append("no stranger faces held out: false accepts cannot be measured")
    return TrainData(train, held, ref, strange, notes)


def pk_batches(labels: np.ndarray, batch_size: int, per_person: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of batches, each made of groups of ``per_person`` samples of one person.

    Every sample appears about once per epoch; a person's last short group is topped up with
    their other samples, so each group holds a positive pair for triplet mining, and several
    groups per batch give it negatives.
    """
    groups: list[np.ndarray] = []
    for person in np.unique(labels):
        index = rng.permutation(np.flatnonzero(labels == person))
        k = min(per_person, len(index))
        for start in range(0, len(index), k):
            group = index[start:start + k]
            if len(group) < k:
                extra = rng.choice(np.setdiff1d(index, group), k - len(group), replace=False)
                group = np.concatenate([group, extra])
            groups.append(group)
    order = rng.permutation(len(groups))
    groups_per_batch = max(2, batch_size // max(per_person, 1))
    batches = []
    for start in range(0, len(order), groups_per_batch):
        batches.append(np.concatenate([groups[i] for i in order[start:start + groups_per_batch]]))
    if len(batches) > 1 and len(np.unique(labels[batches[-1]])) < 2:
        last = batches.pop()  # a batch of one person has no negatives: merge it
        batches[-1] = np.concatenate([batches[-1], last])
    return batches

"""Nearest-identity matching against the enrolled gallery, with an "Unknown" threshold.

Pure numpy. Embeddings are L2-normalised, so cosine similarity is a dot product. A person may
have several samples; a face's score for a person is its best similarity to any of that
person's samples, and the face is that person only if the score reaches the threshold.

What the threshold means: the cosine similarity two photos of the same person must at least
have. Raising it lets fewer strangers through (fewer false check-ins) at the cost of asking
enrolled people to face the camera better; lowering it does the opposite. The default is the
lowest value (to 0.01) at which ``faceattend eval identify`` on all the LFW dev people accepts at
most 1% of strangers. Chosen on folds 1-2 alone the same rule gives 0.45; on the people of folds
3-5, 0.47 identifies 98.68% of enrolled people and accepts 0.63% of strangers, 0.45 99.07% and
1.52% (README, "Choosing the threshold"; bench/results/2026-12-03-identify-split-ours.json).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from faceattend.types import Match

DEFAULT_THRESHOLD = 0.47


class Gallery:
    """The enrolled samples as one matrix, for vectorised matching.

    Built from the store for one embedding model; rebuilt whenever people or samples change.
    """

    def __init__(
        self, embeddings: np.ndarray, person_ids: Sequence[int], names: Mapping[int, str]
    ) -> None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or len(embeddings) != len(person_ids):
            raise ValueError("need one embedding row per person id")
        self.embeddings = np.ascontiguousarray(embeddings)
        self.person_ids = np.asarray(person_ids, dtype=np.int64)
        self.names = dict(names)
        # Samples grouped by person so the per-person maximum is one reduceat call.
        order = np.argsort(self.person_ids, kind="stable")
        self._sorted = self.embeddings[order]
        self._people, self._starts = np.unique(self.person_ids[order], return_index=True)

    @classmethod
    def empty(cls, dim: int = 128) -> Gallery:
        return cls(np.zeros((0, dim), np.float32), [], {})

    def __len__(self) -> int:
        return len(self.person_ids)

    @property
    def people_count(self) -> int:
        return len(self._people)

    def person_scores(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(person ids (P,), best similarity of each query to each person (N, P))."""
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.embeddings.shape[1])
        if len(self) == 0:
            return self._people, np.zeros((len(queries), 0), np.float32)
        sims = queries @ self._sorted.T
        return self._people, np.maximum.reduceat(sims, self._starts, axis=1)

    def match(self, queries: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> list[Match]:
        """The best person for each query embedding, or Unknown below ``threshold``."""
        people, scores = self.person_scores(queries)
        if scores.shape[1] == 0:
            return [Match(None, None, -1.0) for _ in range(scores.shape[0])]
        best = scores.argmax(axis=1)
        results = []
        for row, column in enumerate(best):
            similarity = float(scores[row, column])
            if similarity >= threshold:
                pid = int(people[column])
                results.append(Match(pid, self.names.get(pid, str(pid)), similarity))
            else:
                results.append(Match(None, None, similarity))
        return results

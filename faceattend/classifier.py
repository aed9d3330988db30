"""A linear SVM over face embeddings, as an alternative to nearest-neighbour matching. Numpy only.

One-vs-rest: for each enrolled person a hyperplane ``w . x + b`` separating their samples from
everybody else's, fitted by subgradient descent on the class-balanced hinge loss with an L2
penalty (a few hundred full-batch steps; 128-d inputs make that milliseconds). A face goes to
the person with the highest score, or is Unknown when that score is below ``threshold``.

The Unknown rule is the classifier's own: SVM scores are margins, not cosine similarities, so
the gallery's threshold means nothing here. With no calibration the natural rule is 0 (no
person's hyperplane claims the face). :meth:`LinearSVM.calibrate` instead picks the lowest
threshold that lets at most ``max_far`` of a held-out set of *other* people's faces through:
in the app those are enrolled people outside the classifier, in the benchmark the reference
people, never the strangers it is then measured on.

Whether this beats the gallery is measured by ``bench/finetune.py`` (identification on
held-out samples and false accepts among held-out strangers, same splits); the gallery stays
the default unless it wins on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from faceattend.types import Match


class LinearSVM:
    """One-vs-rest linear SVM with hinge loss; ``fit`` then ``match`` like a Gallery."""

    def __init__(self, l2: float = 1e-3, steps: int = 400, lr: float = 1.0, threshold: float = 0.0) -> None:
        self.l2, self.steps, self.lr, self.threshold = l2, steps, lr, threshold
        self.weights = np.zeros((0, 0), np.float32)
        self.bias = np.zeros(0, np.float32)
        self.people = np.zeros(0, np.int64)
        self.names: dict[int, str] = {}

    def fit(self, embeddings: np.ndarray, person_ids: Sequence[int], names: Mapping[int, str] | None = None,
            ) -> LinearSVM:
        """Learn one hyperplane per person (needs at least two people)."""
        x = np.asarray(embeddings, np.float64)
        labels = np.asarray(person_ids, np.int64)
        self.people = np.unique(labels)
        if len(self.people) < 2:
            raise ValueError("an SVM needs at least two people")
        self.names = dict(names or {})
        target = np.where(labels[:, None] == self.people[None, :], 1.0, -1.0)  # (N, C)
        positives = (target > 0).sum(0)
        # each side of each one-vs-rest problem weighs the same, whatever the class sizes
        weight = np.where(target > 0, 0.5 / positives, 0.5 / (len(x) - positives))
        w = np.zeros((len(self.people), x.shape[1]))
        b = np.zeros(len(self.people))
        w_avg, b_avg = w.copy(), b.copy()
        for step in range(1, self.steps + 1):
            active = (target * (x @ w.T + b)) < 1  # samples inside the margin or wrong side
            coeff = np.where(active, -target * weight, 0.0)  # d(hinge)/d(score)
            rate = self.lr / np.sqrt(step)
            w -= rate * (coeff.T @ x + self.l2 * w)
            b -= rate * coeff.sum(0)
            w_avg += (w - w_avg) / step  # averaged iterates: the subgradient method's answer
            b_avg += (b - b_avg) / step
        self.weights, self.bias = w_avg.astype(np.float32), b_avg.astype(np.float32)
        return self

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """(N, people) margins; ``self.people`` names the columns."""
        return np.asarray(queries, np.float32) @ self.weights.T + self.bias

    def calibrate(self, others: np.ndarray, max_far: float = 0.01) -> float:
        """Set the Unknown threshold from faces of people the SVM was not trained on."""
        best = np.sort(self.scores(others).max(1))[::-1]
        allowed = int(np.floor(max_far * len(best)))
        if len(best) == 0:
            return self.threshold
        self.threshold = float(np.nextafter(best[allowed], np.inf)) if allowed < len(best) else float(best[-1])
        return self.threshold

    def match(self, queries: np.ndarray) -> list[Match]:
        """Best person per query or Unknown; ``similarity`` holds the SVM score (not a cosine)."""
        scores = self.scores(queries)
        results = []
        for row in scores:
            column = int(row.argmax())
            if row[column] >= self.threshold:
                pid = int(self.people[column])
                results.append(Match(pid, self.names.get(pid, str(pid)), float(row[column])))
            else:
                results.append(Match(None, None, float(row[column])))
        return results

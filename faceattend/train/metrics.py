"""Before/after figures of a model on held-out faces, the way the app will use it. Numpy only.

The gallery is the chosen people's training samples, matched as :class:`faceattend.match.Gallery`
matches (best sample per person, "Unknown" below the threshold), so the figures are what the
attendance screen would have shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from faceattend.match import Gallery


@dataclass(frozen=True)
class Evaluation:
    """How a model does on one split.

    - ``identification``: held-out samples named correctly (right person, at or above the
      threshold); ``rank1`` ignores the threshold (could it tell them apart at all).
    - ``false_accepts``: held-out strangers given somebody's name (None: no strangers).
    - ``own_similarity``: mean similarity of held-out samples to their own person;
      ``stranger_similarity``: mean of each stranger's best similarity to anyone. Their
      difference is a smooth separation figure that moves before the counts above do.
    - ``closest_pair``: the highest similarity between held-out samples of two different chosen
      people (``closest_names``), and ``gap`` = threshold - closest_pair: how far the two people
      most alike are from being confused. Negative means they already are. Held-out only: the
      training samples are what the new model was fitted to pull apart, so a pair among them
      would flatter it. NaN when fewer than two people have held-out samples.
    """

    threshold: float
    identification: float | None
    rank1: float | None
    probes: int
    false_accepts: float | None
    false_accept_count: int
    strangers: int
    own_similarity: float | None
    stranger_similarity: float | None
    closest_pair: float
    closest_names: tuple[str, str]
    gap: float

    def as_rows(self) -> list[tuple[str, str]]:
        """(figure, value) pairs for tables in the CLI and the wizard."""
        return [
            ("identification (held-out)", _pct(self.identification, self.probes)),
            ("rank-1, ignoring threshold", _pct(self.rank1, self.probes)),
            ("false accepts (strangers)", _pct(self.false_accepts, self.strangers)),
            ("similarity to own person (mean)", _num(self.own_similarity)),
            ("stranger's best similarity (mean)", _num(self.stranger_similarity)),
            ("closest different people (held-out)", "n/a" if np.isnan(self.closest_pair) else
             f"{self.closest_pair:.3f} ({' / '.join(self.closest_names)})"),
            ("gap to threshold", "n/a" if np.isnan(self.gap) else f"{self.gap:+.3f} (threshold {self.threshold:.2f})"),
        ]


def _pct(value: float | None, count: int) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}% of {count}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def closest_pair(emb: np.ndarray, labels: np.ndarray, names: Mapping[int, str]) -> tuple[float, tuple[str, str]]:
    """Highest cosine similarity between samples of two different people, and who they are
    (NaN and no names when no two people have a sample)."""
    sims = emb @ emb.T
    sims[labels[:, None] == labels[None, :]] = -np.inf
    if not np.isfinite(sims).any():
        return float("nan"), ("", "")
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    pair = (names.get(int(labels[i]), str(labels[i])), names.get(int(labels[j]), str(labels[j])))
    return float(sims[i, j]), tuple(sorted(pair))  # type: ignore[return-value]


def evaluate(
    gallery: np.ndarray, gallery_labels: np.ndarray, probes: np.ndarray, probe_labels: np.ndarray,
    strangers: np.ndarray, names: Mapping[int, str], threshold: float,
) -> Evaluation:
    """All figures of :class:`Evaluation` from unit-length embeddings."""
    g = Gallery(gallery, [int(v) for v in gallery_labels], names)
    ident = rank1 = own = strange = far = None
    accepted = 0
    if len(probes):
        people, scores = g.person_scores(probes)
        best = people[scores.argmax(1)]
        correct = best == probe_labels
        rank1 = float(correct.mean())
        ident = float((correct & (scores.max(1) >= threshold)).mean())
        column = np.searchsorted(people, probe_labels)
        own = float(scores[np.arange(len(probes)), column].mean())
    if len(strangers):
        _, scores = g.person_scores(strangers)
        accepted = int((scores.max(1) >= threshold).sum())
        far = accepted / len(strangers)
        strange = float(scores.max(1).mean())
    close, who = closest_pair(probes, probe_labels, names)  # held-out samples only (see Evaluation)
    return Evaluation(threshold, ident, rank1, len(probes), far, accepted, len(strangers), own, strange,
                      close, who, threshold - close)

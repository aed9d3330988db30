"""The training objectives: metric (triplet) and margin-softmax losses, centre loss, distillation.

All work on L2-normalised embeddings, since matching is by cosine similarity: a loss on
anything else would optimise a quantity the app never looks at.

- ``triplet``: FaceNet's triplet loss on squared distances (2 - 2 cos) with margin 0.2 and
  online semi-hard (or hard) mining inside each batch, plus a normalised-softmax
  classification term that keeps every class's samples together even when a batch has no
  useful triplet.
- ``arcface``: additive angular margin, s=64, m=0.5 (Deng et al. 2019).
- ``amsoftmax``: additive cosine margin, s=30, m=0.35 (Wang et al. 2018).
- ``center``: an add-on pulling each embedding to its learnt class centre (Wen et al. 2016).
- distillation: 1 - cos(student, frozen stock model) on other people's faces.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from faceattend.train.options import LOSSES

TRIPLET_MARGIN = 0.2
SOFTMAX_SCALE = 30.0  # the classification term that goes with the triplet loss (no margin)


def pair_distances(emb: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances between unit vectors: 2 - 2 cos, in [0, 4]."""
    return (2 - 2 * emb @ emb.T).clamp_min(0)


def triplet_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float = TRIPLET_MARGIN,
                 mining: str = "semihard") -> torch.Tensor:
    """Mean hinge over (anchor, positive) pairs of the batch, with negatives mined online.

    ``semihard``: for each pair the closest negative that is still farther than the positive
    (FaceNet), falling back to the hardest negative when none is; ``hard``: each anchor's
    farthest positive against its closest negative (batch-hard). Zero without a positive pair.
    """
    dist = pair_distances(emb)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    positive = same & ~eye
    if not positive.any():
        return emb.sum() * 0
    inf = torch.finfo(dist.dtype).max
    if mining == "hard":
        hardest_pos = dist.masked_fill(~positive, -inf).amax(1)
        hardest_neg = dist.masked_fill(same, inf).amin(1)
        valid = positive.any(1) & (~same).any(1)
        return F.relu(hardest_pos - hardest_neg + margin)[valid].mean()
    anchor, pos = positive.nonzero(as_tuple=True)
    d_ap = dist[anchor, pos][:, None]  # (T, 1)
    d_an = dist[anchor]  # (T, N)
    negative = ~same[anchor]
    semi = negative & (d_an > d_ap) & (d_an < d_ap + margin)
    semi_choice = d_an.masked_fill(~semi, inf).amin(1)
    hard_choice = d_an.masked_fill(~negative, inf).amin(1)
    chosen = torch.where(semi.any(1), semi_choice, hard_choice)
    valid = negative.any(1)
    return F.relu(d_ap[:, 0] - chosen + margin)[valid].mean() if valid.any() else emb.sum() * 0


class MarginHead(nn.Module):
    """Cosine classifier over the chosen people with ArcFace, AM-Softmax or no margin.

    Weights start at each person's mean stock embedding: the stock model already separates
    most people, so training starts from where they are instead of from random directions.
    """

    def __init__(self, prototypes: torch.Tensor, kind: str, scale: float, margin: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(F.normalize(prototypes.detach().clone(), dim=1))
        self.kind, self.scale, self.margin = kind, scale, margin

    def forward(self, emb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        cos = emb @ F.normalize(self.weight, dim=1).T
        hit = F.one_hot(target, cos.shape[1]).bool()
        if self.kind == "arcface":
            m = self.margin
            sin = (1 - cos.pow(2)).clamp_min(1e-7).sqrt()
            with_margin = cos * math.cos(m) - sin * math.sin(m)
            # past theta = pi - m, cos(theta + m) stops falling: use the linear extension
            # insightface uses, so the target logit is monotonic in theta.
            fallback = cos - math.sin(math.pi - m) * m
            target_logit = torch.where(cos > math.cos(math.pi - m), with_margin, fallback)
        else:  # amsoftmax (margin 0 makes it a plain normalised softmax)
            target_logit = cos - self.margin
        logits = torch.where(hit, target_logit, cos) * self.scale
        return F.cross_entropy(logits, target)


class CenterLoss(nn.Module):
    """Mean squared distance of each embedding to its person's centre (centres are learnt)."""

    def __init__(self, prototypes: torch.Tensor) -> None:
        super().__init__()
        self.centres = nn.Parameter(F.normalize(prototypes.detach().clone(), dim=1))

    def forward(self, emb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 0.5 * (emb - self.centres[target]).pow(2).sum(1).mean()


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean 1 - cos between the new and the stock embedding of the same face (unit vectors)."""
    return (1 - (student * teacher).sum(1)).mean()


class Objective(nn.Module):
    """The chosen loss plus the optional centre term; returns each term for the progress plot."""

    def __init__(self, loss: str, prototypes: torch.Tensor, center_weight: float = 0.0,
                 mining: str = "semihard") -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        self.loss, self.mining, self.center_weight = loss, mining, center_weight
        if loss == "arcface":
            self.head = MarginHead(prototypes, "arcface", 64.0, 0.5)
        elif loss == "amsoftmax":
            self.head = MarginHead(prototypes, "amsoftmax", 30.0, 0.35)
        else:
            self.head = MarginHead(prototypes, "softmax", SOFTMAX_SCALE, 0.0)
        self.center = CenterLoss(prototypes) if center_weight > 0 else None

    def forward(self, emb: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        terms: dict[str, torch.Tensor] = {}
        if self.loss == "triplet":
            terms["triplet"] = triplet_loss(emb, target, TRIPLET_MARGIN, self.mining)
            terms["softmax"] = self.head(emb, target)
        else:
            terms[self.loss] = self.head(emb, target)
        if self.center is not None:
            terms["center"] = self.center_weight * self.center(emb, target)
        return terms

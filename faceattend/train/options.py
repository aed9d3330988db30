"""What a user can choose for a fine-tuning run, and the choices' names. No torch, no numpy.

Kept apart from the engine so that ``faceattend --help`` (which builds the ``train`` parser
from these defaults) and the wizard's options page do not pay for importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faceattend.match import DEFAULT_THRESHOLD

#: Training losses (see ``losses``).
LOSSES = ("amsoftmax", "arcface", "triplet")

#: Which layers train. ``head``: the 1024x7x7 -> 128 projection with its BatchNorms (6.4 M
#: weights); ``last``: also the last two depthwise-separable blocks (the 7x7 stage);
#: ``all``: every layer (slow on a CPU; meant for a GPU).
LAYER_CHOICES = ("head", "last", "all")

#: Chosen by ``bench/finetune.py``: each loss trained on the same cached faces of ORL, LFW and
#: LFW look-alikes. None changed identification or false accepts (the stock model is at the
#: ceiling there); AM-Softmax moved the closest pair of different people furthest below the
#: threshold (+18.9 gap points summed on held-out photos, ArcFace +4.5, triplet +0.6;
#: bench/results/2026-12-03-finetune.txt). bench/README.md has the figures.
DEFAULT_LOSS = "amsoftmax"


@dataclass(frozen=True)
class Augment:
    """Strengths of each transform (see ``augment``); the defaults mimic webcam enrolment."""

    flip: float = 0.5  # probability of a mirror image
    brightness: float = 0.25  # multiplicative, +-
    contrast: float = 0.25
    saturation: float = 0.3
    grey: float = 0.1  # probability of a grey image (scanned or IR-like photos)
    rotate_deg: float = 8.0
    scale: float = 0.06
    shift_px: float = 4.0


@dataclass(frozen=True)
class TrainOptions:
    """Everything a user can choose. Defaults finish in about a minute for 30 people on a
    2-core CPU: only the head trains, from cached features.

    The learning rate is deliberately low: in bench/finetune.py ten times more (1e-3) let 4-14%
    of strangers through with the safeguard (18-45% without; none before), while 1e-4 moved the
    closest pair away from the threshold without letting anyone in. The safeguard's weight 10
    beat 3 at holding strangers out (4-14% against 6-24% at lr 1e-3)."""

    loss: str = DEFAULT_LOSS
    layers: str = "head"
    epochs: int = 10
    lr: float = 1e-4  # the classifier weights and centres learn 10x faster
    optimizer: str = "adam"  # adam | sgd (momentum 0.9)
    batch_size: int = 32
    per_person: int = 4  # samples of one person next to each other in a batch
    center_weight: float = 0.0  # > 0 adds the centre loss
    distill_weight: float = 10.0  # keeps strangers unknown; 0 turns it off
    mining: str = "semihard"  # triplet loss only: semihard | hard
    views: int = 4  # augmented views cached per training crop (head / last)
    threshold: float = DEFAULT_THRESHOLD
    seed: int = 0
    device: str = "auto"
    augment: Augment = field(default_factory=Augment)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.layers not in LAYER_CHOICES:
            raise ValueError(f"unknown layers {self.layers!r}; choose one of {', '.join(LAYER_CHOICES)}")
        if self.mining not in ("semihard", "hard"):
            raise ValueError(f"unknown mining {self.mining!r}; choose semihard or hard")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose adam or sgd")

"""The fine-tuning engine: a generator of progress reports, cancellable at every step. No Qt.

The wizard and the CLI both drive :meth:`Trainer.run`; each yielded :class:`Progress` says the
stage, the step, the loss terms and, after each epoch, the validation figures, and the last
one carries the :class:`TrainResult`. Setting the ``cancel`` event stops the run at the next
step (a few milliseconds when only the head trains) and yields one ``cancelled`` report.

One run: start from the stock weights; cache the frozen front's outputs (see ``bank``);
evaluate the starting model ("before"); train with the chosen loss on the chosen people plus a
distillation term on other people's faces; evaluate after every epoch; return the weights.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch

from faceattend.device import pick_device
from faceattend.train.augment import augment
from faceattend.train.bank import FeatureBank, bank_cost, build_bank, count_views, front_bytes
from faceattend.train.data import TrainData, pk_batches
from faceattend.train.losses import Objective, distillation_loss
from faceattend.train.metrics import Evaluation, evaluate
from faceattend.train.model import Back, SplitNet, StateDict, build_net, split, stock_state
from faceattend.train.options import DEFAULT_LOSS, TrainOptions

__all__ = ["DEFAULT_LOSS", "Progress", "TrainOptions", "TrainResult", "Trainer", "fine_tune"]


@dataclass(frozen=True)
class TrainResult:
    """The new weights (an opaque state dict; save with ``versions.save_candidate``) and figures."""

    state: StateDict
    before: Evaluation
    after: Evaluation
    history: list[Evaluation]  # after each epoch
    people: dict[int, str]
    options: TrainOptions
    seconds: float

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(self.state, tmp)
        tmp.replace(path)


@dataclass(frozen=True)
class Progress:
    """One report. ``stage``: prepare | train | done | cancelled.

    ``step``/``steps`` count crops while preparing and optimiser steps (over all epochs) while
    training. ``validation`` is set once before training (epoch 0) and after every epoch.
    """

    stage: str
    step: int = 0
    steps: int = 0
    epoch: int = 0
    epochs: int = 0
    losses: Mapping[str, float] = field(default_factory=dict)
    validation: Evaluation | None = None
    message: str = ""
    result: TrainResult | None = None

    @property
    def fraction(self) -> float:
        return self.step / self.steps if self.steps else 0.0


class Cancelled(Exception):
    """Raised inside the engine when the cancel event is set; never escapes ``run``."""


class Trainer:
    """One fine-tuning run over ``data``. ``bank`` may be reused from a previous trainer on the
    same data and layers (the benchmark compares losses that way)."""

    def __init__(self, data: TrainData, options: TrainOptions | None = None,
                 base: StateDict | None = None, bank: FeatureBank | None = None) -> None:
        self.data, self.options = data, options or TrainOptions()
        self.base, self.bank = base, bank
        self.device = pick_device(self.options.device)
        self.labels = data.train.labels
        self.classes = {p: i for i, p in enumerate(data.train.people)}

    def run(self, cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Yield progress until done (the last report holds the result) or cancelled."""
        cancel = cancel or threading.Event()
        started = time.monotonic()
        try:
            if cancel.is_set():
                raise Cancelled
            torch.manual_seed(self.options.seed)
            net = split(build_net(self.base or stock_state(), self.device), self.options.layers)
            yield from self._prepare(net, cancel)
            yield from self._train(net, cancel, started)
        except Cancelled:
            yield Progress("cancelled", message="training cancelled; nothing was saved")

    # -- preparation --------------------------------------------------------------------------
    def _prepare(self, net: SplitNet, cancel: threading.Event) -> Iterator[Progress]:
        o = self.options
        live = o.layers == "all"
        views = count_views(o.views, len(self.data.train), front_bytes(o.layers))
        if self.bank is not None and self.bank.layers == o.layers:
            return
        total = bank_cost(self.data, views, live)
        for item in build_bank(net.front, self.data, views, o.augment, self.device, o.seed):
            if cancel.is_set():
                raise Cancelled
            if isinstance(item, FeatureBank):
                self.bank = item
            else:
                yield Progress("prepare", item, total, message=f"preparing faces: {item} of {total}")

    def _embed(self, back: Back, feats: torch.Tensor) -> np.ndarray:
        out = []
        with torch.no_grad():
            for start in range(0, len(feats), 128):
                out.append(back(feats[start:start + 128].to(self.device).float()).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, 128), np.float32)

    def evaluate(self, back: Back) -> Evaluation:
        """The figures of the back's current weights on the held-out sets."""
        assert self.bank is not None
        d = self.data
        return evaluate(self._embed(back, self.bank.train[0]), d.train.labels,
                        self._embed(back, self.bank.heldout), d.heldout.labels,
                        self._embed(back, self.bank.strangers), d.names, self.options.threshold)

    def embeddings(self, state: StateDict) -> dict[str, np.ndarray]:
        """Unit embeddings of every set under ``state`` (the bench compares classifiers on them)."""
        assert self.bank is not None, "run the trainer first"
        back = split(build_net(state, self.device), self.options.layers).back
        sets = {"train": self.bank.train[0], "heldout": self.bank.heldout,
                "strangers": self.bank.strangers, "reference": self.bank.reference[0]}
        return {name: self._embed(back, feats) for name, feats in sets.items()}

    # -- training -----------------------------------------------------------------------------
    def _train(self, net: SplitNet, cancel: threading.Event, started: float) -> Iterator[Progress]:
        o, bank = self.options, self.bank
        assert bank is not None
        rng = np.random.default_rng(o.seed)
        gen = torch.Generator(device=self.device).manual_seed(o.seed + 1)
        before = self.evaluate(net.back)
        train_emb = torch.from_numpy(self._embed(net.back, bank.train[0]))
        targets = torch.stack([torch.from_numpy(self._embed(net.back, r)) for r in bank.reference]).to(self.device)
        objective = Objective(o.loss, self._prototypes(train_emb), o.center_weight, o.mining).to(self.device)
        groups = [{"params": net.trainable(), "lr": o.lr}, {"params": objective.parameters(), "lr": o.lr * 10}]
        optimiser = _adam(groups) if o.optimizer == "adam" else torch.optim.SGD(groups, momentum=0.9)
        per_epoch = len(pk_batches(self.labels, o.batch_size, o.per_person, np.random.default_rng(0)))
        total = per_epoch * o.epochs
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _cosine(s, total))
        history: list[Evaluation] = []
        yield Progress("train", 0, total, 0, o.epochs, validation=before, message="before training")
        step = 0
        for epoch in range(1, o.epochs + 1):
            for batch in pk_batches(self.labels, o.batch_size, o.per_person, rng):
                if cancel.is_set():
                    raise Cancelled
                terms = self._step(net, objective, batch, targets, rng, gen)
                loss = cast(torch.Tensor, sum(terms.values()))  # at least one term
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.trainable(), 5.0)
                optimiser.step()
                schedule.step()
                step += 1
                losses = {k: float(v.detach()) for k, v in terms.items()}
                yield Progress("train", step, total, epoch, o.epochs, losses,
                               message=f"epoch {epoch} of {o.epochs}, loss {float(loss.detach()):.3f}")
            history.append(self.evaluate(net.back))
            yield Progress("train", step, total, epoch, o.epochs, validation=history[-1],
                           message=f"epoch {epoch} of {o.epochs} done")
        after = history[-1] if history else before
        result = TrainResult(net.state(), before, after, history, dict(self.data.names), o,
                             time.monotonic() - started)
        yield Progress("done", total, total, o.epochs, o.epochs, validation=after, result=result,
                       message=f"done in {result.seconds:.0f} s")

    def _prototypes(self, train_emb: torch.Tensor) -> torch.Tensor:
        """Each chosen person's mean starting embedding, one row per class."""
        rows = [train_emb[torch.from_numpy(self.labels == p)].mean(0) for p in self.classes]
        return torch.stack(rows)

    def _step(self, net: SplitNet, objective: Objective, batch: np.ndarray, targets: torch.Tensor,
              rng: np.random.Generator, gen: torch.Generator) -> dict[str, torch.Tensor]:
        o, bank = self.options, self.bank
        assert bank is not None
        if bank.live:
            x = augment(bank.train[0, torch.from_numpy(batch)].to(self.device).float(), o.augment, gen)
        else:
            view = torch.from_numpy(rng.integers(0, bank.views, len(batch)))
            x = bank.train[view, torch.from_numpy(batch)].to(self.device).float()
        y = torch.tensor([self.classes[int(v)] for v in self.labels[batch]], device=self.device)
        terms = objective(net.back(x), y)
        n_ref = bank.reference.shape[1]
        if o.distill_weight > 0 and n_ref:
            pick = torch.from_numpy(rng.choice(n_ref, min(n_ref, o.batch_size), replace=False))
            view = torch.from_numpy(rng.integers(0, 2, len(pick)))
            student = net.back(bank.reference[view, pick].to(self.device).float())
            terms["distill"] = o.distill_weight * distillation_loss(student, targets[view, pick])
        return terms


def _adam(groups: list[dict[str, object]]) -> torch.optim.Optimizer:
    """Adam, fused where this torch has it: five times faster on the 6.4 M head weights."""
    try:
        return torch.optim.Adam(groups, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(groups)


def _cosine(step: int, total: int, warmup: int = 5) -> float:
    """Learning-rate factor: a short linear warm-up, then cosine decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def fine_tune(data: TrainData, options: TrainOptions | None = None,
              cancel: threading.Event | None = None) -> Iterator[Progress]:
    """Shorthand for ``Trainer(data, options).run(cancel)``."""
    return Trainer(data, options).run(cancel)


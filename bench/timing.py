"""Interleaved timing, robust summaries and plain-text tables.

Contenders are timed on the same items in turn (the order rotates each round), so a burst of
load from other processes on this shared machine hits all of them alike rather than whoever
happened to run during it. Medians (and p90) rather than means, for the same reason.

A slow contender would dominate the wall time, so when a time budget is given each contender
runs on a 1/``stride`` share of the items only, the stride chosen from its warm-up time. The
share is a fixed pseudo-random subset (the same for equal strides), not every k-th item, which
would alias with the video interleaving and keep a single video; ratios are then taken over the
items both contenders ran on.
"""

from __future__ import annotations

import gc
import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass
class Series:
    """One contender's timings (seconds, by item index) and outputs."""

    name: str
    times: dict[int, float] = field(default_factory=dict)
    outputs: dict[int, Any] = field(default_factory=dict)
    stride: int = 1
    error: str | None = None

    def ms(self, keys: Sequence[int] | None = None) -> np.ndarray:
        keys = sorted(self.times) if keys is None else keys
        return np.array([self.times[k] for k in keys]) * 1e3

    def median_ms(self, keys: Sequence[int] | None = None) -> float:
        values = self.ms(keys)
        return float(np.median(values)) if len(values) else math.nan

    def p90_ms(self) -> float:
        values = self.ms()
        return float(np.percentile(values, 90)) if len(values) else math.nan


@dataclass
class Contender(Generic[T]):
    name: str
    run: Callable[[T], Any]


def interleaved(contenders: Sequence[Contender[T]], items: Sequence[T], warmup: int = 2,
                budget_s: float | None = None) -> dict[str, Series]:
    """Time every contender on ``items``, one round per item, rotating the order each round."""
    series = {c.name: Series(c.name) for c in contenders}
    for c in contenders:
        s = series[c.name]
        try:
            start = time.perf_counter()
            for item in items[: max(1, warmup)]:
                start = time.perf_counter()
                c.run(item)
            estimate = time.perf_counter() - start
        except Exception as exc:  # a peer that breaks is reported, the rest go on
            s.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            continue
        if budget_s:
            s.stride = max(1, math.ceil(estimate * len(items) / budget_s))
    live = [c for c in contenders if series[c.name].error is None]
    order = np.random.default_rng(0).permutation(len(items))
    chosen = {name: set(order[: math.ceil(len(items) / s.stride)].tolist()) for name, s in series.items()}
    gc.collect()
    for i, item in enumerate(items):
        shift = i % max(1, len(live))
        for c in live[shift:] + live[:shift]:
            s = series[c.name]
            if s.error is not None or i not in chosen[c.name]:
                continue
            try:
                start = time.perf_counter()
                out = c.run(item)
                s.times[i] = time.perf_counter() - start
                s.outputs[i] = out
            except Exception as exc:
                s.error = f"{type(exc).__name__}: {exc}"
    return series


def ratio(ours: Series, peer: Series) -> float:
    """Our median over the peer's median, on the items both ran (< 1: faceattend is faster)."""
    common = sorted(set(ours.times) & set(peer.times))
    if not common:
        return math.nan
    return ours.median_ms(common) / peer.median_ms(common)


def repeat_ms(fn: Callable[[], Any], reps: int, warmup: int = 3) -> dict[str, float]:
    """Median and p90 of ``reps`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    arr = np.array(times) * 1e3
    return {"median_ms": float(np.median(arr)), "p90_ms": float(np.percentile(arr, 90)), "n": reps}


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if 0 < abs(value) < 1 and digits < 3:
            return f"{value:.3f}"
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> str:
    """A plain aligned table: first column left-aligned, the others right-aligned."""
    cells = [[fmt(v, 2 if "ratio" in h or "IoU" in h else 1) for v, h in zip(r, headers, strict=True)] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    def line(parts: Sequence[str]) -> str:
        return "  ".join(p.ljust(w) if i == 0 else p.rjust(w)
                         for i, (p, w) in enumerate(zip(parts, widths, strict=True)))
    out = [title] if title else []
    out += [line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(out)

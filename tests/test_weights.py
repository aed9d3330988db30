"""The converted-weights cache: a damaged entry (truncated, or NaN/inf of the right shapes) is rebuilt."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from faceattend.paths import cache_dir
from faceattend.weights import StateDict, load_converted


class Converter:
    """Turns a source file into a Linear(3, 2)'s weights, counting how often it runs."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, source: Path) -> StateDict:
        self.calls += 1
        return {"weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "bias": torch.ones(2)}


def cache_file() -> Path:
    found = sorted((cache_dir() / "weights").glob("tiny-*.pt"))
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("damage", ["nan", "inf", "truncated"])
def test_damaged_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    monkeypatch.setenv("FACEATTEND_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "source.bin"
    source.write_bytes(b"pretend weights")
    convert = Converter()
    load_converted(nn.Linear(3, 2), source, convert, "tiny")
    load_converted(nn.Linear(3, 2), source, convert, "tiny")
    assert convert.calls == 1, "the second load should come from the cache"

    cached = cache_file()
    if damage == "truncated":
        cached.write_bytes(cached.read_bytes()[:40])
    else:
        bad = math.nan if damage == "nan" else math.inf
        torch.save({"weight": torch.full((2, 3), bad), "bias": torch.ones(2)}, cached)
    module = load_converted(nn.Linear(3, 2), source, convert, "tiny")
    assert convert.calls == 2, "a damaged cache must be converted again"
    assert torch.isfinite(module.weight).all() and module.weight[1, 2].item() == 5.0
    assert torch.isfinite(torch.load(cached, weights_only=True)["weight"]).all(), "and the cache repaired"


def test_a_converter_giving_nan_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEATTEND_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "source.bin"
    source.write_bytes(b"x")

    def broken(_: Path) -> StateDict:
        return {"weight": torch.full((2, 3), math.nan), "bias": torch.ones(2)}

    with pytest.raises(ValueError, match="NaN"):
        load_converted(nn.Linear(3, 2), source, broken, "tiny")

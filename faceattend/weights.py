"""Pretrained weights: found in the packages that ship them, converted once, cached.

Nothing here downloads. A converter turns the shipped file into a torch state dict; the result
is cached in the user cache folder keyed by the source file's SHA-256, and re-checked against
the network's own shapes whenever it is loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from faceattend.paths import cache_dir

StateDict = dict[str, torch.Tensor]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_converted(
    module: nn.Module, source: Path, convert: Callable[[Path], StateDict], tag: str
) -> nn.Module:
    """Load ``module``'s weights converted from ``source``, converting at most once per file.

    ``tag`` names the conversion (bump it when the converter changes). Shapes are verified
    against ``module`` on every load, so a stale or foreign cache entry fails loudly and is
    rebuilt rather than silently mis-loaded.
    """
    cached = cache_dir() / "weights" / f"{tag}-{file_sha256(source)[:16]}.pt"
    state: StateDict | None = None
    if cached.is_file():
        try:
            state = torch.load(cached, map_location="cpu", weights_only=True)
            _check_shapes(module, state)
        except Exception:  # corrupt, stale or damaged (NaN) cache: rebuild it from the source
            state = None
    if state is None:
        state = convert(source)
        _check_shapes(module, state)
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        try:
            torch.save(state, tmp)
            tmp.replace(cached)
        except OSError:  # a read-only or full cache only costs a conversion next time
            tmp.unlink(missing_ok=True)
    module.load_state_dict(state)
    return module


def _check_shapes(module: nn.Module, state: StateDict) -> None:
    """Raise unless ``state`` has ``module``'s keys and shapes and only finite values.

    A cache file of the right shapes can still hold NaN or infinity (a bad write, a bit flip, a
    tool that "repaired" it); loaded, every face would come out "Unknown nan", so it is rebuilt.
    """
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected != got:
        missing = sorted(set(expected) ^ set(got))[:5]
        wrong = [k for k in expected if k in got and expected[k] != got[k]][:5]
        raise ValueError(f"weights do not fit the network (keys {missing}, shapes {wrong})")
    broken = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise ValueError(f"weights hold NaN or infinite values ({broken[:5]})")

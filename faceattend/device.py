"""Choosing the torch device: CUDA when present, never assumed."""

from __future__ import annotations

import torch


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` -> CUDA if available else CPU; ``cpu``/``cuda`` force one.

    Asking for ``cuda`` on a machine without it falls back to CPU rather than failing, since a
    settings file may travel between machines.
    """
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")

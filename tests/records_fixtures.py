"""Helpers for the records tests: running the CLI, searching every file for bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

CROP = np.zeros((112, 112, 3), np.uint8)


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


def run_cli(*args: str, db: Path, env_extra: dict[str, str] | None = None,
            **kwargs: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "faceattend", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=300, **kwargs)


def files_holding(folder: Path, needles: dict[str, bytes]) -> list[str]:
    """'<file>: <needle name>' for every file under ``folder`` that contains a needle."""
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [f"{path.relative_to(folder)}: {name}" for name, needle in needles.items() if needle in data]
    return hits

"""Shared test helpers: where the real photos live, and a temporary user data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEATTEND_TEST_DATA", REPO.parent / "shared" / "data"))


def data_path(*parts: str) -> Path:
    """A path under the shared test data; skips the test with a reason when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data not found: {path} (set FACEATTEND_TEST_DATA to the shared data folder)")
    return path


@pytest.fixture
def data_dir() -> Path:
    return data_path()


@pytest.fixture(autouse=True)
def user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data folder; the converted-weights cache is shared per run."""
    data = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("FACEATTEND_DATA_DIR", str(data))
    monkeypatch.setenv("FACEATTEND_CACHE_DIR", os.environ.get("FACEATTEND_CACHE_DIR") or str(_shared_cache(tmp_path_factory)))
    return data


_cache: Path | None = None


def _shared_cache(factory: pytest.TempPathFactory) -> Path:
    global _cache
    if _cache is None:
        _cache = factory.mktemp("cache")
    return _cache

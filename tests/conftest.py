"""Shared test helpers: where the real photos live, and a temporary user data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from faceattend.paths import shared_data_dir
from faceattend.runtime import configure_process

# The test run is an entry point like the app's: it runs with the app's process settings.
configure_process()

REPO = Path(__file__).resolve().parents[1]
DATA = shared_data_dir()


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
    cache = os.environ.get("FACEATTEND_CACHE_DIR") or str(_shared_cache(tmp_path_factory))
    monkeypatch.setenv("FACEATTEND_CACHE_DIR", cache)
    return data


_cache: Path | None = None


def _shared_cache(factory: pytest.TempPathFactory) -> Path:
    global _cache
    if _cache is None:
        _cache = factory.mktemp("cache")
    return _cache

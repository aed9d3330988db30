"""One real Recognizer per test session: building the networks takes seconds."""

from __future__ import annotations

import pytest

from faceattend.config import Settings
from faceattend.pipeline import Recognizer, load_recognizer


@pytest.fixture(scope="session")
def recognizer(tmp_path_factory: pytest.TempPathFactory) -> Recognizer:
    mp = pytest.MonkeyPatch()
    mp.setenv("FACEATTEND_CACHE_DIR", str(tmp_path_factory.mktemp("weights-cache")))
    try:
        return load_recognizer(Settings(device="cpu"))
    finally:
        mp.undo()

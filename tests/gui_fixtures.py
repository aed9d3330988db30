"""Shared fixtures and doubles for the GUI tests (pytest-qt, offscreen)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from faceattend.config import Settings  # noqa: E402
from faceattend.match import Gallery  # noqa: E402
from faceattend.pipeline import Recognizer  # noqa: E402
from faceattend.types import Detection, Face  # noqa: E402


class FakeDetector:
    """Finds no face: for widget tests that need a running window but no networks."""

    min_face_size = 40
    scale_factor = 0.709

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return []

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        return [[] for _ in frames]

    def refine(self, frame: np.ndarray, previous: list[Detection]) -> list[Detection]:
        return []


class FakeEmbedder:
    model_name = "fake-model"
    dim = 8
    device = torch.device("cpu")
    flip = False

    def embed(self, crops: np.ndarray) -> np.ndarray:
        out = np.zeros((len(crops), self.dim), np.float32)
        out[:, 0] = 1.0
        return out


def fake_recognizer() -> Recognizer:
    return Recognizer(FakeDetector(), FakeEmbedder(), Gallery.empty(FakeEmbedder.dim))


def fake_face(direction: int = 0, dim: int = 8, seed: int = 0) -> Face:
    """A face whose embedding points along one axis (distinct directions never match)."""
    rng = np.random.default_rng(seed)
    crop = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    marks = np.array([[38, 52], [74, 52], [56, 72], [42, 92], [71, 92]], np.float32)
    embedding = np.zeros(dim, np.float32)
    embedding[direction] = 1.0
    return Face(Detection((0.0, 0.0, 112.0, 112.0), 0.99, marks), crop, embedding)


def enrol_fake(window, name: str, direction: int) -> int:  # noqa: ANN001
    """A person with one fake sample, enrolled straight into the window's store."""
    pid = window.store.add_person(name)
    face = fake_face(direction)
    window.store.add_sample(pid, face.embedding, "fake-model", face.crop, 0.99, "test")
    window.reload_people()
    return pid


class ListSource:
    """A FrameSource of synthetic frames that fails (returns None, or raises) after ``count``."""

    def __init__(self, count: int = 10**9, fps: float = 30.0, raise_at_end: bool = False,
                 size: tuple[int, int] = (320, 240)) -> None:
        self.count, self._fps, self.raise_at_end, self._size = count, fps, raise_at_end, size
        self.read_count = 0
        self.closed = False

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def description(self) -> str:
        return "test camera"

    def read(self) -> np.ndarray | None:
        if self.read_count >= self.count:
            if self.raise_at_end:
                raise OSError("device unplugged")
            return None
        self.read_count += 1
        frame = np.full((self._size[1], self._size[0], 3), (self.read_count * 7) % 255, np.uint8)
        return frame

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Confirmations answer yes (change ``answers['ask_result']``), messages are collected."""
    from faceattend.gui import qtutil

    log: dict[str, list[str]] = {"asked": [], "informed": [], "ask_result": ["yes"]}
    monkeypatch.setattr(qtutil, "ask", lambda _p, _t, text: log["asked"].append(text) or log["ask_result"][-1] == "yes")
    monkeypatch.setattr(qtutil, "inform", lambda _p, _t, text, error=False: log["informed"].append(text))
    return log


@pytest.fixture
def make_window(qtbot, answers: dict[str, list[str]]) -> Iterator[Callable[..., object]]:  # noqa: ANN001
    """Builds MainWindows with a database in the test's data folder; shuts them all down after."""
    from faceattend.gui.main_window import MainWindow

    windows: list[MainWindow] = []

    def build(recognizer: Recognizer | None = None, source: object = None,
              settings: Settings | None = None) -> MainWindow:
        window = MainWindow(settings or Settings(device="cpu"), recognizer=recognizer or fake_recognizer(),
                            source=source if source is not None else ListSource())
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.shutdown()


@pytest.fixture
def clean_recognizer(recognizer: Recognizer) -> Iterator[Recognizer]:
    """The session's real recognizer, with its gallery and thresholds put back after the test."""
    saved = (recognizer.gallery, recognizer.threshold, recognizer.detector.min_face_size)
    yield recognizer
    recognizer.gallery, recognizer.threshold, recognizer.detector.min_face_size = saved


def shared_video(name: str) -> Path:
    from conftest import data_path

    return data_path("videos", name)

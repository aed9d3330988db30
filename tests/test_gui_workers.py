"""The GUI thread never waits for a worker: closing a dialog cancels its job and closes at once,
switching source or model goes on while the old thread ends in the background. No networks.

Each job double sleeps in short steps and records whether it saw its cancel token. The window's
responsiveness is measured with ``StallMonitor`` (a 20 ms QTimer): the longest gap between two
ticks is the longest a click would have waited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from faceattend.cancel import CancelToken
from faceattend.config import Settings
from faceattend.gui import enrol_dialog, main_window, train_wizard
from faceattend.gui.stall import StallMonitor
from faceattend.gui.workers import Report, Worker
from faceattend.match import Gallery
from faceattend.pipeline import Recognizer
from faceattend.store import Store
from faceattend.types import Detection

from gui_fixtures import FakeDetector, FakeEmbedder, ListSource, answers, fake_face, make_window  # noqa: F401

#: The longest the GUI thread may stop answering while a slow job runs.
MAX_STALL_MS = 300


def slow_job(seen: list[str], steps: int = 5, step_s: float = 1.0) -> Callable[[CancelToken, Report], None]:
    """A job of ``steps`` steps of ``step_s`` each (a large photo, a training batch on a slow
    laptop), checking its token between steps and recording what it saw."""

    def job(token: CancelToken, report: Report) -> None:
        seen.append("started")
        for _ in range(steps):
            if token.cancelled:
                seen.append("cancelled")
                return
            time.sleep(step_s)
        seen.append("finished")

    return job


# -- the worker ---------------------------------------------------------------------------------

def test_worker_delivers_on_the_gui_thread_and_cancel_drops_what_comes_after(qtbot) -> None:  # noqa: ANN001
    gui = threading.get_ident()
    got: list[tuple[str, object, bool]] = []

    def record(kind: str) -> Callable[[object], None]:
        return lambda value: got.append((kind, value, threading.get_ident() == gui))

    worker = Worker(lambda token, report: (report("half way"), 42)[1])
    worker.progress.connect(record("progress"))
    worker.done.connect(record("done"))
    worker.start()
    qtbot.waitUntil(lambda: len(got) == 2, timeout=5000)
    assert got == [("progress", "half way", True), ("done", 42, True)]

    failing = Worker(lambda token, report: 1 / 0)
    failing.failed.connect(record("failed"))
    failing.start()
    qtbot.waitUntil(lambda: len(got) == 3, timeout=5000)
    assert got[2] == ("failed", "division by zero", True)

    release, dropped = threading.Event(), []
    late = Worker(lambda token, report: release.wait(5) and "a file the job wrote", dropped=dropped.append)
    late.done.connect(record("done"))
    late.start()
    late.cancel()  # the owner moved on before the job ended
    release.set()
    qtbot.waitUntil(lambda: dropped == ["a file the job wrote"], timeout=5000)
    assert len(got) == 3, "nothing reaches the owner after cancel"


# -- closing dialogs during a job ---------------------------------------------------------------

def test_closing_the_enrol_dialog_during_a_photo_job_is_immediate_and_cancels_it(
    qtbot, make_window, monkeypatch
) -> None:  # noqa: ANN001
    seen: list[str] = []
    photo_job = slow_job(seen)
    monkeypatch.setattr(enrol_dialog, "faces_from_photos",
                        lambda recognizer, lock, paths, token, report: photo_job(token, report))
    window = make_window()
    dialog = window.open_enrol_dialog()
    dialog.add_photos(["a.jpg", "b.jpg"])
    qtbot.waitUntil(lambda: seen == ["started"], timeout=5000)
    assert dialog.busy()
    started = time.perf_counter()
    dialog.reject()
    took = time.perf_counter() - started
    assert took < 0.5, f"closing waited {took:.2f} s for the photo job"
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: seen[-1:] == ["cancelled"], timeout=3000)  # at the end of its step


def _two_trainable_people(settings: Settings) -> None:
    with Store(settings.database_path()) as store:
        for direction, name in ((1, "Ada"), (2, "Grace")):
            pid = store.add_person(name)
            for seed in (0, 1):
                face = fake_face(direction, seed=seed)
                store.add_sample(pid, face.embedding, "fake-model", face.crop, 0.99, "test")


@pytest.mark.parametrize("how", ["close", "cancel button"])
def test_the_wizard_stops_training_at_once(qtbot, tmp_path: Path, monkeypatch, how: str) -> None:  # noqa: ANN001
    seen: list[str] = []
    monkeypatch.setattr(train_wizard, "training_job", lambda *args: slow_job(seen))
    settings = Settings(database=str(tmp_path / "faceattend.db"), device="cpu")
    _two_trainable_people(settings)
    wizard = train_wizard.TrainWizard(settings)
    qtbot.addWidget(wizard)
    wizard.show()
    for _ in range(2):
        wizard.button(train_wizard.QWizard.WizardButton.NextButton).click()
    assert wizard.currentId() == train_wizard.TrainWizard.TRAIN
    qtbot.waitUntil(lambda: seen == ["started"], timeout=5000)
    started = time.perf_counter()
    if how == "close":
        wizard.reject()
    else:
        wizard.train_page.stop.click()
    took = time.perf_counter() - started
    assert took < 0.5, f"the wizard waited {took:.2f} s for training"
    if how == "close":
        assert not wizard.isVisible()
    else:
        assert "cancelled" in wizard.train_page.status.text() and not wizard.train_page.isComplete()
    qtbot.waitUntil(lambda: seen[-1:] == ["cancelled"], timeout=3000)  # at the end of its step
    qtbot.waitUntil(lambda: not wizard.busy(), timeout=2000)


# -- switching source and model -----------------------------------------------------------------

def test_switching_source_while_one_is_slow_to_open_never_blocks(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window(source=ListSource())
    qtbot.waitUntil(lambda: window.live.view.frames_shown > 2, timeout=5000)
    opening, slow = threading.Event(), ListSource()

    def slow_camera() -> ListSource:  # e.g. a network camera that takes seconds to answer
        opening.set()
        time.sleep(1.5)
        return slow

    window.open_source(slow_camera)
    qtbot.waitUntil(opening.is_set, timeout=3000)
    monitor = StallMonitor(interval_ms=20)
    monitor.start()
    qtbot.wait(60)  # gaps are measured from the first tick on
    started = time.perf_counter()
    window.open_source(ListSource())  # the user picks another while it is still opening
    took = time.perf_counter() - started
    shown = window.live.view.frames_shown
    qtbot.waitUntil(lambda: window.source_ok and window.live.view.frames_shown > shown + 2, timeout=5000)
    qtbot.wait(100)  # a stall shows as a late tick: let the timer tick again
    monitor.stop()
    assert took < 0.1, f"switching waited {took:.2f} s for the old source"
    assert monitor.longest_ms < MAX_STALL_MS, f"the window stalled {monitor.longest_ms:.0f} ms"
    qtbot.waitUntil(lambda: slow.closed, timeout=3000)
    assert slow.read_count == 0, "the source left while opening is released unread"


class SlowDetector(FakeDetector):
    """Takes ``seconds`` per frame; ``entered`` is set as each frame begins."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.entered = seconds, threading.Event()

    def detect(self, frame: np.ndarray) -> list[Detection]:
        self.entered.set()
        time.sleep(self.seconds)
        return []


def test_a_new_model_replaces_the_running_one_without_waiting_for_its_frame(
    qtbot, make_window, monkeypatch
) -> None:  # noqa: ANN001
    detector = SlowDetector(1.0)
    window = make_window(recognizer=Recognizer(detector, FakeEmbedder(), Gallery.empty(FakeEmbedder.dim)))
    new = Recognizer(FakeDetector(), FakeEmbedder(), Gallery.empty(FakeEmbedder.dim))
    overtaken = Recognizer(FakeDetector(), FakeEmbedder(), Gallery.empty(FakeEmbedder.dim))
    first, release = threading.Event(), threading.Event()

    def load(settings: Settings, model: str | None) -> Recognizer:
        if first.is_set():
            return new
        first.set()  # the first load is slow: overtaken by the next one
        release.wait(5)
        return overtaken

    monkeypatch.setattr(main_window, "load_recognizer", load)
    qtbot.waitUntil(detector.entered.is_set, timeout=5000)
    detector.entered.clear()
    qtbot.waitUntil(detector.entered.is_set, timeout=5000)  # the old model has just begun a frame
    monitor = StallMonitor(interval_ms=20)
    monitor.start()
    qtbot.wait(60)  # gaps are measured from the first tick on
    window.load_recognizer()
    qtbot.waitUntil(first.is_set, timeout=2000)
    window.load_recognizer()
    qtbot.waitUntil(lambda: window.recognizer is new, timeout=5000)
    qtbot.wait(100)  # a stall shows as a late tick: let the timer tick again
    monitor.stop()
    assert monitor.longest_ms < MAX_STALL_MS, f"the window stalled {monitor.longest_ms:.0f} ms"
    release.set()
    qtbot.wait(300)
    assert window.recognizer is new, "an overtaken load is dropped"
    qtbot.waitUntil(lambda: window.recognition.processed > 0, timeout=5000)


# -- the entry point ----------------------------------------------------------------------------

def test_the_window_entry_point_sets_the_environment_before_native_libraries_load() -> None:
    """``faceattend.gui.app.main`` configures the process first; importing it loads no numpy,
    OpenCV or torch, so the variables are in place when they load."""
    from faceattend.runtime import process_environment

    script = (
        "import json, os, sys\n"
        "from faceattend.gui import main\n"
        "import faceattend.gui.app as app\n"
        "loaded = sorted(m for m in ('numpy', 'cv2', 'torch') if m in sys.modules)\n"
        "def stop(argv):\n"
        "    env = {k: os.environ.get(k) for k in ('OMP_WAIT_POLICY', 'OPENBLAS_NUM_THREADS')}\n"
        "    print(json.dumps({'loaded': loaded, 'env': env}))\n"
        "    raise SystemExit(0)\n"
        "app.application = stop\n"
        "main([])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in process_environment("win32")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"loaded": [], "env": {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1"}}

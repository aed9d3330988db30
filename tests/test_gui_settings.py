"""Settings in the real window (pytest-qt, offscreen): refused entries keep their old value, a
broken settings file gets a question instead of a silent reset or exit, the Live tab's toggle and
Settings agree, and run-time changes reach the detector only between frames, in its thread."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from faceattend.config import Settings, load_settings, save_settings, settings_path
from faceattend.gui import app as gui_app
from faceattend.gui.main_window import MainWindow
from faceattend.store import Store

from conftest import data_path
from gui_fixtures import (  # noqa: F401  (fixtures)
    FakeDetector,
    ListSource,
    answers,
    clean_recognizer,
    fake_recognizer,
    make_window,
)
from recognition_fixtures import recognizer  # noqa: F401  (session fixture)


def click_when_asked(label: str, seen: list[str]) -> None:
    """Press the button whose text starts with ``label`` in the next message box (polling)."""
    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(f"{box.text()}\n{box.informativeText()}")
            for button in box.buttons():
                if button.text().replace("&", "").startswith(label):
                    button.click()
                    return
            raise AssertionError(f"no {label!r} among {[b.text() for b in box.buttons()]}")
        QTimer.singleShot(20, poll)
    QTimer.singleShot(0, poll)


# -- the Settings dialog -------------------------------------------------------------------
def test_a_data_folder_under_a_regular_file_is_refused_and_the_old_one_kept(
        qtbot, make_window, answers, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    before = window.store.path
    (tmp_path / "file.txt").write_text("x")
    dialog = window.open_settings()
    old_folder = dialog.folder.text()
    dialog.folder.setText(str(tmp_path / "file.txt" / "data"))
    dialog.threshold.setValue(0.6)
    dialog.accept()
    assert answers["informed"] and "is a file, not a folder" in answers["informed"][-1]
    assert dialog.isVisible(), "the dialog stays open to fix the entry"
    assert dialog.folder.text() == old_folder, "the old value is back"
    assert not settings_path().exists(), "nothing was saved"
    assert window.store.path == before
    dialog.accept()  # now everything is valid: saved and applied
    assert not dialog.isVisible() and load_settings().threshold == pytest.approx(0.6)
    assert window.store.path == before


@pytest.mark.parametrize("entry, value, words", [
    ("camera", "²", "digits 0-9"),
    ("camera", "rtsp://", "no host"),
    ("folder", "relative/folder", "not a full path"),
])
def test_invalid_text_entries_get_a_message_and_keep_the_old_value(
        qtbot, make_window, answers, entry: str, value: str, words: str) -> None:  # noqa: ANN001
    window = make_window(settings=Settings(device="cpu", camera="1"))
    dialog = window.open_settings()
    field = getattr(dialog, entry)
    old = field.text()
    field.setText(value)
    dialog.accept()
    assert words in answers["informed"][-1] and field.text() == old and dialog.isVisible()
    assert window.settings.camera == "1"


def test_spin_boxes_cannot_leave_the_ranges(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    dialog = window.open_settings()
    for box, value in ((dialog.cooldown, 0), (dialog.min_face, 0), (dialog.frames, 0), (dialog.threshold, -1),
                       (dialog.scale, 1.5)):
        box.setValue(value)
    dialog.accept()
    saved = load_settings()
    assert (saved.cooldown_minutes, saved.min_face_size, saved.auto_checkin_frames) == (1, 12, 1)
    assert saved.threshold == pytest.approx(0.2) and saved.scale_factor == pytest.approx(0.85)


def test_choosing_cuda_without_a_gpu_says_so(qtbot, make_window, answers) -> None:  # noqa: ANN001
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    window = make_window()
    dialog = window.open_settings()
    dialog.device.setCurrentText("cuda")
    dialog.accept()
    assert "CUDA cannot be used" in answers["informed"][-1] and dialog.device.currentText() == "cpu"
    window.settings.device = "cuda"  # a settings file brought from a computer with a GPU
    window._check_device(window.recognizer)
    assert "run on the CPU" in answers["informed"][-1]


# -- the Live tab's toggle -----------------------------------------------------------------
def test_automatic_check_in_toggle_is_saved_and_settings_show_it(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window(settings=Settings(device="cpu", auto_checkin=False))
    window.live.auto_box.click()
    assert load_settings().auto_checkin, "saved at once"
    dialog = window.open_settings()
    assert dialog.auto.isChecked(), "Settings shows the Live tab's state"
    dialog.accept()
    assert window.live.auto_box.isChecked(), "opening and accepting Settings does not undo it"
    window.live.auto_box.click()
    dialog = window.open_settings()
    assert not dialog.auto.isChecked()
    dialog.accept()
    assert not window.live.auto_box.isChecked() and not load_settings().auto_checkin


# -- a broken settings file at start-up ----------------------------------------------------
def test_a_broken_file_naming_a_database_asks_and_quit_changes_nothing(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    school = tmp_path / "school.db"
    broken = f'database = "{school}"\n]\nthreshold = 0.6\n'
    path = settings_path()
    path.write_text(broken)
    seen: list[str] = []
    click_when_asked("Quit", seen)
    assert gui_app.startup_settings() is None
    assert str(school) in seen[0] and "settings.toml.bad" in seen[0] and "does not parse" in seen[0]
    assert path.read_text() == broken and (path.parent / "settings.toml.bad").read_text() == broken
    click_when_asked("Reset, keep school.db", seen)
    settings = gui_app.startup_settings()
    assert settings is not None and settings.database_path() == school
    assert load_settings() == settings, "the reset settings are saved"
    assert (path.parent / "settings.toml.bad").read_text() == broken, "the copy is kept"


def test_reset_to_defaults_says_which_database_it_opens(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = settings_path()
    path.write_text('database = "/x/school.db" = 3\n')
    seen: list[str] = []
    click_when_asked("Reset to defaults", seen)
    settings = gui_app.startup_settings()
    assert settings == Settings()
    assert "may name a database" in seen[0] and str(Settings().database_path()) in seen[0]


def run_app(buttons: list[str], seen: list[str], windows: list[MainWindow]) -> int:
    """``faceattend`` (the window) as it starts, answering the settings question with ``buttons``."""
    for label in buttons:
        click_when_asked(label, seen)

    def close_when_shown() -> None:
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if shown:
            windows.extend(shown)
            shown[0].close()
            QTimer.singleShot(0, QApplication.quit)
        else:
            QTimer.singleShot(50, close_when_shown)
    QTimer.singleShot(0, close_when_shown)
    return gui_app.main([])


def test_the_app_starts_after_resetting_out_of_range_values(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    """Out of range (min face 0, cooldown 0, scale 1.5): asked, reset, the window opens on the same
    database; before, min_face_size 0 was a ZeroDivisionError and scale 1.5 ate gigabytes."""
    school = tmp_path / "school.db"
    with Store(school) as store:
        store.add_person("Ada Lovelace")
    path = settings_path()
    text = (f'database = "{school}"\ncamera = "{tmp_path / "none.mp4"}"\ndevice = "cpu"\n'
            "min_face_size = 0\ncooldown_minutes = 0\nscale_factor = 1.5\nthreshold = 0.6\n")
    path.write_text(text)
    seen: list[str] = []
    windows: list[MainWindow] = []
    assert run_app(["Reset the settings"], seen, windows) == 0
    assert "min_face_size 0" in seen[0] and "cooldown_minutes 0" in seen[0] and "scale_factor 1.5" in seen[0]
    assert windows and windows[0].store.path == school
    saved = load_settings()
    assert (saved.database, saved.threshold, saved.min_face_size, saved.cooldown_minutes) == (str(school), 0.6, 40, 30)
    assert (path.parent / "settings.toml.bad").read_text() == text


def test_a_data_folder_under_a_file_in_the_settings_no_longer_stops_the_app(
        qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    """Before: the next launch exited 1 with no window and only a traceback on stderr."""
    (tmp_path / "file.txt").write_text("x")
    save_settings(Settings(device="cpu", camera=str(tmp_path / "none.mp4")))
    under_a_file = tmp_path / "file.txt" / "faceattend.db"
    text = settings_path().read_text().replace('database = ""', f'database = "{under_a_file}"')
    settings_path().write_text(text)
    seen: list[str] = []
    windows: list[MainWindow] = []
    assert run_app(["Reset to defaults"], seen, windows) == 0
    assert "is a file, not a folder" in seen[0]
    assert windows and windows[0].store.path == Settings().database_path()
    seen.clear()
    click_when_asked("Quit", seen)
    settings_path().write_text(text)
    assert gui_app.main([]) == 1 and seen, "Quit ends the app with a status, after the question"


# -- run-time changes reach the detector between frames, in its thread -----------------------
class WatchedDetector(FakeDetector):
    """Records the thread of every attribute change, and whether a detection was running."""

    scale_factor = 0.709

    def __init__(self) -> None:
        self.__dict__["changes"] = []
        self.__dict__["busy"] = False

    def __setattr__(self, name: str, value: object) -> None:
        self.__dict__["changes"].append((name, value, threading.get_ident(), self.__dict__["busy"]))
        self.__dict__[name] = value

    def detect(self, frame: np.ndarray) -> list:
        self.__dict__["busy"] = True
        time.sleep(0.02)
        self.__dict__["busy"] = False
        return []


def test_settings_reach_the_detector_in_the_recognition_thread_between_frames(
        qtbot, make_window) -> None:  # noqa: ANN001
    recognizer = fake_recognizer()
    detector = WatchedDetector()
    recognizer.detector = detector
    window = make_window(recognizer=recognizer)
    qtbot.waitUntil(lambda: window.recognition.processed > 3, timeout=10000)
    detector.changes.clear()
    dialog = window.open_settings()
    dialog.min_face.setValue(90)
    dialog.scale.setValue(0.6)
    dialog.threshold.setValue(0.55)
    dialog.accept()
    qtbot.waitUntil(lambda: len(detector.changes) == 2, timeout=5000)
    assert {name for name, *_ in detector.changes} == {"min_face_size", "scale_factor"}
    gui_thread = threading.get_ident()
    assert all(thread != gui_thread for *_, thread, _ in detector.changes), "never from the GUI thread"
    assert not any(busy for *_, busy in detector.changes), "never during a detection"
    assert detector.scale_factor == pytest.approx(0.6) and recognizer.threshold == pytest.approx(0.55)


def test_raising_the_minimum_face_at_run_time_drops_a_smaller_face(
        qtbot, make_window, clean_recognizer) -> None:  # noqa: ANN001
    """The real window and detector: a face is shown, the minimum goes above its size, it goes."""
    import cv2

    from faceattend.images import load_image

    image = load_image(data_path("portraits", "obama", "obama.jpg"))
    scale = 320 / max(image.shape[:2])
    frame = np.ascontiguousarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))

    class StillSource(ListSource):
        def read(self) -> np.ndarray | None:
            self.read_count += 1
            return frame

    saved_scale = clean_recognizer.detector.scale_factor
    window = make_window(recognizer=clean_recognizer, source=StillSource(),
                         settings=Settings(device="cpu", min_face_size=20))
    qtbot.waitUntil(lambda: len(window.live.view.labels) == 1, timeout=30000)
    box = window.live._faces[0].detection.box
    side = max(box[2] - box[0], box[3] - box[1])
    dialog = window.open_settings()
    dialog.min_face.setValue(min(int(side * 2.5), min(frame.shape[:2]) - 1))
    dialog.accept()
    try:
        qtbot.waitUntil(lambda: window.live.view.labels == [], timeout=30000)
        processed = window.recognition.processed
        qtbot.waitUntil(lambda: window.recognition.processed > processed + 3, timeout=30000)
        assert window.live.view.labels == [], "the face stays gone"
    finally:
        clean_recognizer.detector.scale_factor = saved_scale


def test_quitting_at_the_question_is_not_a_crash(qtbot) -> None:  # noqa: ANN001
    settings_path().write_text("threshold = nan\n")
    seen: list[str] = []
    click_when_asked("Quit", seen)
    assert gui_app.startup_settings() is None and "not nan" in seen[0]



def test_a_settings_change_is_an_audit_event_without_the_stream_password(make_window) -> None:  # noqa: ANN001
    """#10: every change is in the audit trail, settings included; a camera password never is."""
    from faceattend.store import audit

    window = make_window()
    new = dataclasses.replace(window.settings, threshold=0.55, camera="rtsp://admin:secret@127.0.0.1:9/stream")
    window.apply_settings(dataclasses.replace(new, camera=window.settings.camera))  # threshold only
    window.apply_settings(new)
    logged = audit.events(window.store, action="settings")
    assert [set(e.detail) for e in logged] == [{"threshold"}, {"camera"}]
    assert logged[0].detail["threshold"] == {"from": 0.47, "to": 0.55}
    assert logged[1].detail["camera"]["to"] == "rtsp://admin:***@127.0.0.1:9/stream"
    assert "secret" not in repr([e.detail for e in logged])

"""The main window: wires the camera, the recognition thread, the store and the three tabs.

Threads: a capture thread per source (opens, reads and releases it), one recognition thread
(newest frame only), a loader for the networks, and short jobs. The GUI thread owns one
``Store`` for its own actions, never runs a network and never waits for a thread: a switch of
source or model stops the old thread and goes on; only quitting waits (``workers.finish_all``).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QMainWindow, QPushButton, QTabWidget, QVBoxLayout, QWidget

from faceattend.camera import FrameSource, hide_password, open_source
from faceattend.config import Settings, SettingsError, camera_problem, cuda_problem, save_settings
from faceattend.frames import FrameSlot
from faceattend.gui import admin_lock, qtutil
from faceattend.gui.attendance_panel import AttendancePanel
from faceattend.gui.camera_bar import CameraBar, describe
from faceattend.gui.enrol_dialog import EnrolDialog
from faceattend.gui.live_panel import LivePanel
from faceattend.gui.people_panel import PeoplePanel
from faceattend.gui.quality import MIN_ENROL_FACE
from faceattend.gui.settings_dialog import SettingsDialog, enrol_samples
from faceattend.gui.stall import StallMonitor
from faceattend.gui.workers import CaptureThread, RecognitionThread, Worker, finish_all
from faceattend.pipeline import ACTIVE_MODEL_KEY, Recognizer, load_recognizer
from faceattend.store import Store, StoreError

SourceArg = str | FrameSource | Callable[[], FrameSource]
PICK_ANOTHER = "Choose another camera, a video file or a network stream in the list above."


class MainWindow(QMainWindow):
    """``recognizer`` and ``source`` may be injected (tests, benchmarks); else they are built here."""

    lock_bar: admin_lock.LockBar  # set by admin_lock.install

    def __init__(self, settings: Settings, recognizer: Recognizer | None = None, source: SourceArg | None = None,
                 store: Store | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store if store is not None else Store(settings.database_path())
        self.recognizer: Recognizer | None = None
        self.lock = threading.Lock()  # one network user at a time: live view, enrolment
        self.slot = FrameSlot()
        self.capture: CaptureThread | None = None
        self.recognition: RecognitionThread | None = None
        self.loader: Worker | None = None
        self.latency_ms = 0.0
        self.source_description = ""
        self.source_ok = False
        self._closed = False
        self._cuda_told = False
        self.setWindowTitle("faceattend")
        self._build()
        self.stall_monitor = StallMonitor(self)
        self.stall_monitor.start()
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self.update_status)
        self._status_timer.start(500)
        if recognizer is not None:
            self._recognizer_ready(recognizer)
        else:
            self.load_recognizer()
        self.open_source(source if source is not None else settings.camera)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.camera_bar = CameraBar(self.settings.camera)
        self.settings_button = QPushButton("Settings…")
        top = QHBoxLayout()
        top.addWidget(self.camera_bar, 1)
        top.addWidget(self.settings_button)
        self.live = LivePanel(self.settings, lambda: self.store)
        self.people = PeoplePanel(self.store)
        self.attendance = AttendancePanel(self.store)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live, "Live")
        self.tabs.addTab(self.people, "People")
        self.tabs.addTab(self.attendance, "Attendance")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self.camera_bar.chosen.connect(self._camera_chosen)
        self.settings_button.clicked.connect(self.open_settings)
        self.live.enrol_requested.connect(lambda: self.open_enrol_dialog())
        self.live.recorded.connect(lambda _event: self.attendance.refresh())
        self.people.enrol_requested.connect(self.open_enrol_dialog)
        self.people.changed.connect(self.reload_people)
        self.live.auto_box.toggled.connect(self._auto_toggled)
        self.live.enrol_button.setEnabled(False)
        self._menus()
        self.admin = admin_lock.install(self)  # kiosk mode: administrative actions need the password
        admin_lock.retention_at_start(self)
        self.resize(1200, 760)

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        settings_action = QAction("&Settings…", self)
        settings_action.triggered.connect(self.open_settings)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(settings_action)
        file_menu.addAction(quit_action)
        checkin_action = QAction("Check &in", self)
        checkin_action.setShortcut(QKeySequence("Ctrl+I"))
        checkin_action.triggered.connect(lambda: self.live.check_in())
        self.menuBar().addMenu("&Attendance").addAction(checkin_action)
        train_action = QAction("&Train the recogniser…", self)
        train_action.triggered.connect(self.open_train_wizard)
        self.menuBar().addMenu("&Tools").addAction(train_action)

    # -- recognizer ------------------------------------------------------------------------
    def load_recognizer(self) -> None:
        """Build the networks in a thread (seconds); the live view runs meanwhile."""
        self.statusBar().showMessage("Loading the face models…")
        settings, model = self.settings, self.store.get_meta(ACTIVE_MODEL_KEY)
        if self.loader is not None:
            self.loader.cancel()  # overtaken: its networks are never used
        self.loader = Worker(lambda _token, _report: load_recognizer(settings, model))
        self.loader.done.connect(self._recognizer_ready)
        self.loader.failed.connect(self._recognizer_failed)
        self.loader.start()

    def reload_recognizer(self, _model_name: str = "") -> None:
        """After the training wizard activated a model: load it; the old one runs until then."""
        self.load_recognizer()

    def _recognizer_ready(self, recognizer: object) -> None:
        assert isinstance(recognizer, Recognizer)
        if self._closed:
            return
        if self.recognition is not None:
            self.recognition.stop()  # ends after its current frame; its results are ignored
        self.recognizer = recognizer
        self.apply_recognition_settings()
        self.refresh_gallery()
        self.recognition = RecognitionThread(recognizer, self.lock, self.slot)
        self.recognition.result.connect(partial(self._on_result, self.recognition))
        self.recognition.error.connect(self.statusBar().showMessage)
        self.recognition.start()
        self.live.enrol_button.setEnabled(True)
        self.statusBar().clearMessage()
        self._check_device(recognizer)

    def _recognizer_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"The face models could not be loaded: {message}")
        qtutil.inform(self, "Face models", f"The face models could not be loaded: {message}", error=True)

    def _check_device(self, recognizer: Recognizer) -> None:
        """Say so when the settings ask for CUDA and the networks run on the CPU instead."""
        device = str(recognizer.embedder.device)
        if self.settings.device != "cuda" or device.startswith("cuda") or self._cuda_told:
            return
        self._cuda_told = True  # once per window, not after every model reload
        text = (f"The settings ask for the networks to run on CUDA, but {cuda_problem() or 'CUDA is not in use'}. "
                "They run on the CPU; choose cpu or auto in Settings to stop this message.")
        self.statusBar().showMessage("CUDA is not available: running on the CPU")
        qtutil.inform(self, "Device", text, error=True)

    def apply_recognition_settings(self) -> None:
        """Threshold, minimum face size and detector step reach the recognizer between two frames,
        in the recognition thread: the GUI thread never changes what that thread is reading."""
        if self.recognizer is None:
            return
        change = recognition_change(self.recognizer, self.settings)
        if self.recognition is not None and self.recognition.isRunning():
            self.recognition.between_frames(change)
        else:  # no thread uses this recognizer yet
            change()

    def refresh_gallery(self) -> None:
        """After any enrolment change: rebuild the matching matrix and recognise everyone afresh."""
        if self.recognizer is None:
            return
        self.recognizer.gallery = self.store.gallery(self.recognizer.model_name)
        if self.recognition is not None:
            self.recognition.reset()

    def _on_result(self, thread: RecognitionThread, faces: object, latency_ms: float, _seq: int) -> None:
        if thread is not self.recognition or not self.source_ok:
            return
        self.latency_ms = latency_ms if self.latency_ms == 0 else 0.8 * self.latency_ms + 0.2 * latency_ms
        self.live.show_faces(list(faces))  # type: ignore[call-overload]

    # -- source ----------------------------------------------------------------------------
    def open_source(self, source: SourceArg) -> None:
        """Switch to a camera spec ("0", a file, rtsp://…), a FrameSource, or a function opening one.

        Returns at once: the old capture is told to stop, and the new one opens the source in its
        own thread once the old one has let go of its device; frames and errors come by signal."""
        previous = self.capture
        if previous is not None:
            previous.stop()
        self.slot.clear()
        self.source_ok = False
        self.live.clear_faces()
        if self.recognition is not None:
            self.recognition.reset()
        opener, self.source_description = source_opener(source)
        if isinstance(source, str):
            self.camera_bar.set_current(source)
        self.live.view.set_message(f"Opening {self.source_description}…")
        self.capture = CaptureThread(opener, self.slot, previous.released if previous is not None else None)
        self.capture.opened.connect(partial(self._source_opened, self.capture))
        self.capture.failed.connect(partial(self._source_failed, self.capture))
        self.capture.frame_ready.connect(partial(self._show_frame, self.capture))
        self.capture.start()

    def _camera_chosen(self, spec: str) -> None:
        if not self.admin.require("Changing the camera"):
            self.camera_bar.set_current(self.settings.camera)
            return
        reason = camera_problem(spec)
        if reason:
            self.live.view.set_message(f"{reason[:1].upper()}{reason[1:]}.\n\n{PICK_ANOTHER}")
            return
        self.settings.camera = spec
        self._save_settings()
        self.open_source(spec)

    def _source_opened(self, thread: CaptureThread, description: str, _fps: float) -> None:
        if thread is self.capture:
            self.source_description, self.source_ok = description, True

    def _source_failed(self, thread: CaptureThread, message: str) -> None:
        if thread is not self.capture:
            return
        self.source_ok = False
        self.live.clear_faces()
        text = message[:1].upper() + message[1:]
        text += "" if text.endswith((".", "?", "!")) else "."
        self.live.view.set_message(f"{text}\n\n{PICK_ANOTHER}")
        self.statusBar().showMessage(text)

    def _show_frame(self, thread: CaptureThread) -> None:
        thread.taken()
        if thread is not self.capture or not self.source_ok:
            return
        frame = self.slot.latest()[1]
        if frame is not None:
            self.live.view.set_frame(frame)

    def update_status(self) -> None:
        device = "loading models"
        if self.recognizer is not None:
            device = str(self.recognizer.embedder.device).split(":")[0].upper()
        parts = [f"{self.live.view.display_fps():.1f} fps shown",
                 f"recognition {self.latency_ms:.0f} ms" if self.latency_ms else "recognition –",
                 device, self.source_description]
        self.status_label.setText("   ·   ".join(parts))

    # -- dialogs and edits -----------------------------------------------------------------
    def open_enrol_dialog(self, person_id: int | None = None) -> EnrolDialog | None:
        if not self.admin.require("Enrolment"):
            return None
        if self.recognizer is None:
            qtutil.inform(self, "Enrol", "The face models are still loading; try again in a moment.")
            return None
        min_size = max(MIN_ENROL_FACE, self.settings.min_face_size)
        dialog = EnrolDialog(self.store, self.recognizer, self.lock, self.slot, enrol_samples(self.settings),
                             min_size, person_id, self)
        dialog.enrolled.connect(self._enrolled)
        dialog.open()
        return dialog

    def _enrolled(self, person_id: int, name: str, count: int) -> None:
        self.reload_people()
        self.people.select(person_id)
        self.live.toast.show_message(f"{name} enrolled with {count} sample(s)")

    def reload_people(self) -> None:
        self.refresh_gallery()
        self.people.refresh()
        self.attendance.refresh()

    def open_settings(self) -> SettingsDialog | None:
        if not self.admin.require("Settings"):
            return None
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings()))
        dialog.open()
        return dialog

    def open_train_wizard(self) -> QDialog | None:
        if not self.admin.require("Training"):
            return None
        try:
            from faceattend.gui.train_wizard import TrainWizard
        except ImportError as error:
            qtutil.inform(self, "Training", f"Training is not available: {error}", error=True)
            return None
        wizard = TrainWizard(self.settings, parent=self)
        wizard.modelChanged.connect(self.reload_recognizer)
        wizard.open()
        return wizard

    def _auto_toggled(self, on: bool) -> None:
        """The Live tab's "Automatic check-in" is a setting: saved, and shown the same in Settings."""
        if on != self.settings.auto_checkin:
            self.settings.auto_checkin = on
            self._save_settings()

    def apply_settings(self, new: Settings) -> None:
        """Save and apply at once: threshold and rules live; data folder, device and camera reopen."""
        old = self.settings
        if new.database_path() != old.database_path() and not self._reopen_store(new):
            new = dataclasses.replace(new, database=old.database)
        self.settings = new
        self._save_settings()
        self._log_settings_change(old, new)
        self.admin.set_relock_minutes(self.settings.admin_relock_minutes)
        self.live.apply_settings(self.settings)
        self.apply_recognition_settings()
        if self.recognition is not None:
            self.recognition.reset()
        if new.device != old.device and self.recognizer is not None:
            self.load_recognizer()
        if new.camera != old.camera:
            self.camera_bar.set_current(new.camera)
            self.open_source(new.camera)

    def _reopen_store(self, settings: Settings) -> bool:
        try:
            store = Store(settings.database_path())
        except StoreError as error:
            qtutil.inform(self, "Data folder", str(error), error=True)
            return False
        self.store.close()
        self.store = store
        self.people.set_store(store)
        self.attendance.set_store(store)
        self.admin.store_changed()
        self.refresh_gallery()
        return True

    def _log_settings_change(self, old: Settings, new: Settings) -> None:
        """An audit event naming each setting changed, old and new (a stream's password hidden)."""
        def shown(name: str, value: object) -> object:
            return hide_password(str(value)) if name == "camera" else value

        changed: dict[str, object] = {
            field.name: {"from": shown(field.name, getattr(old, field.name)),
                         "to": shown(field.name, getattr(new, field.name))}
            for field in dataclasses.fields(Settings)
            if field.name != "extra" and getattr(old, field.name) != getattr(new, field.name)}
        if not changed or self.store.read_only is not None:
            return
        try:
            self.store.log("settings", "settings.toml", changed)
        except StoreError as error:
            self.statusBar().showMessage(f"The settings change could not be logged: {error}")

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except (OSError, SettingsError) as error:
            self.statusBar().showMessage(f"The settings could not be saved: {error}")

    # -- shutdown --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every thread, then close the database (each check-in is committed already).

        The one place the GUI thread waits for threads (bounded, after cancelling them): the
        process must not exit under a running thread, nor close the database under a job."""
        if self._closed:
            return
        self._closed = True
        self._status_timer.stop()
        self.stall_monitor.stop()
        self.admin.shutdown()
        for dialog in self.findChildren(QDialog):
            dialog.reject()  # the enrol dialog and the training wizard stop their threads
        self.slot.close()
        if not finish_all():
            print("faceattend: a thread did not stop within a minute at quit", file=sys.stderr)
        self.store.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self._closed and not self.admin.require("Quitting"):
            event.ignore()  # kiosk mode: closing the app would leave the desktop open
            return
        self.shutdown()
        super().closeEvent(event)


def source_opener(source: SourceArg) -> tuple[Callable[[], FrameSource], str]:
    """A function that opens ``source`` (run in the capture thread), and how the source reads."""
    if isinstance(source, str):
        return (lambda: open_source(source, realtime=True, loop=True)), describe(source)
    if isinstance(source, FrameSource):  # already open
        given = source
        return (lambda: given), str(getattr(given, "description", "camera"))
    return source, "camera"


def recognition_change(recognizer: Recognizer, settings: Settings) -> Callable[[], None]:
    """A function that gives ``recognizer`` the settings' threshold, minimum face size and detector
    step (values copied now, so later edits of ``settings`` do not leak in)."""
    threshold, min_face, step = float(settings.threshold), int(settings.min_face_size), float(settings.scale_factor)

    def change() -> None:
        recognizer.threshold = threshold
        recognizer.detector.min_face_size = min_face
        recognizer.detector.scale_factor = step
    return change

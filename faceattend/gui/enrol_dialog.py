"""Enrolling a person: a name, then face samples captured from the live view or taken from photos.

Samples are shown (as the aligned crops that will be stored) before anything is saved. A photo
goes through the same quality gate as a capture: an unusable face is refused with its reason, a
weak one is kept and marked with its reasons. Saving refuses an empty or taken name, asks first
when a sample already matches someone else or when every sample is weak, and writes the person
with all their samples in one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceattend.cancel import CancelToken
from faceattend.enrol import Candidate, look_alike, photo_candidate, save_face
from faceattend.frames import FrameSlot
from faceattend.gui import qtutil
from faceattend.gui.quality import MIN_ENROL_FACE, judge
from faceattend.gui.workers import Report, Worker
from faceattend.images import ImageError
from faceattend.pipeline import FaceCountError, Recognizer
from faceattend.quality import Quality
from faceattend.store import Store, StoreError
from faceattend.store.db import clean_name
from faceattend.types import Face

PHOTO_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.pgm *.gif *.tif *.tiff *.webp);;All files (*)"
#: Least time between two captured samples, so they differ a little (pose, expression).
CAPTURE_SPACING_S = 0.4


def collect_samples(recognizer: Recognizer, lock: threading.Lock, slot: FrameSlot, wanted: int, min_size: int,
                    token: CancelToken, report: Report) -> int:
    """Look at the newest live frames and report each good face (a Face) until ``wanted`` are
    collected; hints (str) say why a frame was not taken. Checks the token on every frame."""
    seq, collected, last = slot.latest()[0], 0, 0.0
    report("waiting for pictures from the camera…")
    while not token.cancelled and collected < wanted:
        got = slot.wait_newer(seq, 0.2)
        if got is None:
            continue
        seq, frame = got
        if time.monotonic() - last < CAPTURE_SPACING_S:
            continue
        with lock:
            faces = recognizer.faces(frame)
        verdict = judge(faces, min_size)
        if not verdict.ok:
            report(verdict.reason)
            continue
        collected, last = collected + 1, time.monotonic()
        report(faces[0])
        report("")
    return collected


def faces_from_photos(recognizer: Recognizer, lock: threading.Lock, paths: Sequence[Path],
                      token: CancelToken, report: Report) -> None:
    """Each photo's face with its quality (a Candidate), or why it was refused, one photo at a
    time; stops between photos once cancelled."""
    for path in paths:
        token.raise_if_cancelled()
        try:
            with lock:
                candidate = photo_candidate(recognizer, Path(path))
            report((str(path), candidate))
        except (ImageError, FaceCountError, ValueError, MemoryError) as error:
            report((str(path), str(error) or type(error).__name__))


class EnrolDialog(QDialog):
    """New or existing person; samples from the camera or from photos; saved only on Save."""

    enrolled = Signal(int, str, int)  # person id, name, samples saved

    def __init__(self, store: Store, recognizer: Recognizer, lock: threading.Lock, slot: FrameSlot | None,
                 wanted: int = 5, min_size: int = MIN_ENROL_FACE, person_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Enrol a person")
        self.store, self.recognizer, self.lock, self.slot = store, recognizer, lock, slot
        self.wanted, self.min_size = wanted, min_size
        self.samples: list[tuple[Face, str]] = []
        self.weak: dict[int, str] = {}  # id(face) -> why the sample is weak
        self._collector: Worker | None = None
        self._photo_jobs: list[Worker] = []
        self._build()
        self._fill_people(person_id)
        self._update()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.person_combo = QComboBox()
        self.name_edit, self.id_edit, self.group_edit = QLineEdit(), QLineEdit(), QLineEdit()
        self.name_edit.setPlaceholderText("First and last name")
        self.id_edit.setPlaceholderText("optional: student or staff number")
        self.group_edit.setPlaceholderText("optional: class, team…")
        form = QFormLayout()
        form.addRow("Person:", self.person_combo)
        form.addRow("Name:", self.name_edit)
        form.addRow("ID:", self.id_edit)
        form.addRow("Group:", self.group_edit)
        self.capture_button = QPushButton("Capture from camera")
        self.capture_button.setCheckable(True)
        self.photos_button = QPushButton("Add photos…")
        self.remove_button = QPushButton("Remove selected")
        buttons = QHBoxLayout()
        for button in (self.capture_button, self.photos_button, self.remove_button):
            buttons.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m samples")
        self.hint_label = QLabel()
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(96, 96))
        self.thumbs.setMinimumHeight(130)
        self.thumbs.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b03a2e;")
        self.box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.thumbs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.box)
        self.person_combo.currentIndexChanged.connect(lambda _i: self._update())
        self.capture_button.toggled.connect(self._toggle_capture)
        self.photos_button.clicked.connect(self._choose_photos)
        self.remove_button.clicked.connect(self._remove_selected)
        self.box.accepted.connect(self.save)
        self.box.rejected.connect(self.reject)
        self.resize(560, 520)

    def _fill_people(self, person_id: int | None) -> None:
        self.person_combo.addItem("New person", None)
        for person in self.store.people():
            self.person_combo.addItem(f"{person.name} ({person.sample_count} samples)", person.id)
        if person_id is not None:
            self.person_combo.setCurrentIndex(max(0, self.person_combo.findData(person_id)))

    def _update(self) -> None:
        new = self.person_id is None
        for edit in (self.name_edit, self.id_edit, self.group_edit):
            edit.setEnabled(new)
        self.progress.setMaximum(max(self.wanted, len(self.samples)))
        self.progress.setValue(len(self.samples))
        self.capture_button.setEnabled(self.slot is not None)

    @property
    def person_id(self) -> int | None:
        data = self.person_combo.currentData()
        return int(data) if data is not None else None

    # -- samples ---------------------------------------------------------------------------
    def add_face(self, face: Face, source: str, quality: Quality | None = None) -> None:
        self.samples.append((face, source))
        weak = "; ".join(quality.weak) if quality is not None else ""
        item = QListWidgetItem(QIcon(qtutil.to_pixmap(face.crop)), "weak" if weak else "")
        item.setToolTip(f"{source}\nweak: {weak}" if weak else source)
        if weak:
            self.weak[id(face)] = weak
            self.show_message(f"{Path(source).name}: weak sample ({weak})")
        self.thumbs.addItem(item)
        other = look_alike(self.recognizer, face, self.person_id if self.person_id is not None else -1)
        if other is not None:
            self.show_message(f"This face looks like {other[0]} (similarity {other[1]:.2f}), who is already enrolled.")
        self._update()

    def add_photos(self, paths: Sequence[Path | str]) -> Worker:
        """Detect the face of each photo in a thread; refused photos are named in the message."""
        recognizer, lock, files = self.recognizer, self.lock, [Path(p) for p in paths]
        job = Worker(lambda token, report: faces_from_photos(recognizer, lock, files, token, report))
        job.progress.connect(self._photo_done)
        job.failed.connect(self.show_message)
        self._photo_jobs.append(job)
        self.hint_label.setText(f"Looking for the face in {len(paths)} photo(s)…")
        job.done.connect(self._photos_read)
        job.failed.connect(self._photos_read)
        job.start()
        return job

    def busy(self) -> bool:
        """Photos are still being read (a job has not delivered its last face yet)."""
        return bool(self._photo_jobs)

    def _photos_read(self, _outcome: object) -> None:
        self._photo_jobs = [job for job in self._photo_jobs if job is not self.sender()]
        if not self._photo_jobs:
            self.hint_label.setText("")

    def _photo_done(self, item: object) -> None:
        assert isinstance(item, tuple)
        path, outcome = item
        if isinstance(outcome, Candidate):
            self.add_face(outcome.face, path, outcome.quality)
        else:
            self.show_message(f"{Path(path).name}: {outcome}")

    def _choose_photos(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Photos of the person", "", PHOTO_FILTER)
        if paths:
            self.add_photos(paths)

    def _remove_selected(self) -> None:
        for row in sorted((self.thumbs.row(i) for i in self.thumbs.selectedItems()), reverse=True):
            self.thumbs.takeItem(row)
            self.weak.pop(id(self.samples[row][0]), None)
            del self.samples[row]
        self._update()

    def _toggle_capture(self, on: bool) -> None:
        if on and self.slot is not None:
            self.show_message("")
            wanted = max(1, self.wanted - len(self.samples))
            recognizer, lock, slot, min_size = self.recognizer, self.lock, self.slot, self.min_size
            self._collector = Worker(lambda token, report: collect_samples(recognizer, lock, slot, wanted, min_size,
                                                                           token, report))
            self._collector.progress.connect(self._collected)
            self._collector.done.connect(self._capture_complete)
            self._collector.start()
            self.capture_button.setText("Stop capturing")
        else:
            self._stop_capture()
            self.capture_button.setText("Capture from camera")
            self.hint_label.setText("")
        self._update()

    def _capture_complete(self, _count: object) -> None:
        self.capture_button.setChecked(False)

    def _collected(self, item: object) -> None:
        if isinstance(item, Face):
            self.add_face(item, "camera")
        else:
            self.hint_label.setText(str(item))

    def _stop_capture(self) -> None:
        """Cancel the collector without waiting: it ends after the frame it is looking at."""
        if self._collector is not None:
            self._collector.cancel()
            self._collector = None

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    # -- saving ----------------------------------------------------------------------------
    def validate(self) -> str | None:
        """Why the dialog cannot be saved yet, or None."""
        if self.person_id is None:
            try:
                name = clean_name(self.name_edit.text())
            except StoreError:
                return "Please type the person's name."
            if self.store.find_person(name) is not None:
                return (f"The name '{name}' is already taken. Choose that person in the list above to add "
                        "samples to them, or type another name.")
        if not self.samples:
            return "Add at least one face sample: capture from the camera or add photos."
        if self.busy():
            return "Please wait: the photos are still being read."
        return None

    def save(self) -> bool:
        problem = self.validate()
        if problem:
            self.show_message(problem)
            return False
        pid = self.person_id
        found = (look_alike(self.recognizer, face, pid if pid is not None else -1) for face, _ in self.samples)
        best: dict[str, float] = {}
        for name, score in (a for a in found if a is not None):
            best[name] = max(score, best.get(name, -1.0))
        if best:
            who = ", ".join(f"{name} ({score:.2f})" for name, score in sorted(best.items(), key=lambda a: -a[1]))
            if not qtutil.ask(self, "Already enrolled?", f"These samples look like {who}, who is already "
                              "enrolled. It may be the same person, or a mix-up. Save them anyway?"):
                return False
        if not self._weak_accepted(pid):
            return False
        try:
            with self.store.write("cannot enrol this person"):  # the person and every sample, or nothing
                if pid is None:
                    pid = self.store.add_person(self.name_edit.text(), self.id_edit.text().strip() or None,
                                                self.group_edit.text().strip() or None)
                for face, source in self.samples:
                    save_face(self.store, pid, face, self.recognizer.model_name, source)
        except StoreError as error:
            self.show_message(str(error))
            return False
        self._stop_capture()
        self.enrolled.emit(pid, self.store.person(pid).name, len(self.samples))
        self.accept()
        return True

    def only_weak(self, pid: int | None) -> bool:
        """Every sample is weak and the person has no earlier sample to make up for them."""
        earlier = self.store.person(pid).sample_count if pid is not None else 0
        return bool(self.samples) and all(id(f) in self.weak for f, _ in self.samples) and not earlier

    def _weak_accepted(self, pid: int | None) -> bool:
        if not self.only_weak(pid):
            return True
        reasons = "\n".join(f"- {Path(src).name}: {self.weak[id(face)]}" for face, src in self.samples)
        return qtutil.ask(self, "Only weak samples", "Every sample of this person is weak, so they may not be "
                          f"recognised:\n{reasons}\n\nA sharp, frontal photo with some space around the face, "
                          "or a capture from the camera, works better. Save these anyway?")

    def done(self, result: int) -> None:  # noqa: D102 (Qt's name)
        """However it closes: cancel the capture and the photo jobs and close at once; they end
        in the background and what they still find is dropped."""
        self._stop_capture()
        for job in self._photo_jobs:
            job.cancel()
        self._photo_jobs = []
        super().done(result)

"""The settings a user can change, saved per user (``config.save_settings``) when accepted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
    QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget,
)

from faceattend.config import Settings

#: GUI-only values kept in ``Settings.extra`` (strings, so the settings file stays flat).
ENROL_SAMPLES = "gui_enrol_samples"
DEFAULT_ENROL_SAMPLES = 5

THRESHOLD_HELP = (
    "How alike a face must be to an enrolled sample to be named. Higher: fewer strangers are "
    "ever taken for someone enrolled, but enrolled people must face the camera more clearly. "
    "Lower: people are recognised more easily, at a greater risk of checking in the wrong person."
)


def enrol_samples(settings: Settings) -> int:
    try:
        return max(1, int(settings.extra.get(ENROL_SAMPLES, DEFAULT_ENROL_SAMPLES)))
    except ValueError:
        return DEFAULT_ENROL_SAMPLES


def _spin(low: float, high: float, value: float, suffix: str = "", tip: str = "",
          decimals: int | None = None) -> QSpinBox | QDoubleSpinBox:
    """An integer spin box, or a decimal one when ``decimals`` is given."""
    box: QSpinBox | QDoubleSpinBox = QSpinBox() if decimals is None else QDoubleSpinBox()
    if isinstance(box, QDoubleSpinBox):
        box.setDecimals(int(decimals or 0))
        box.setSingleStep(10 ** -int(decimals or 0))
    box.setRange(low, high)  # type: ignore[arg-type]
    box.setValue(value)  # type: ignore[arg-type]
    box.setSuffix(suffix)
    box.setToolTip(tip)
    return box


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` gives it back after OK."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.original = settings
        self.camera = QLineEdit(settings.camera)
        self.camera.setToolTip("A camera number (0, 1…), a video file, or an rtsp:// address")
        self.threshold = _spin(0.05, 0.95, settings.threshold, decimals=2)
        self.min_face = _spin(12, 400, settings.min_face_size, " px",
                              "Faces smaller than this are not looked for; smaller is slower")
        self.auto = QCheckBox("Check people in automatically")
        self.auto.setChecked(settings.auto_checkin)
        self.frames = _spin(1, 100, settings.auto_checkin_frames, "",
                            "How many recognitions in a row before an automatic check-in")
        self.cooldown = _spin(0, 24 * 60, settings.cooldown_minutes, " min",
                              "The same person is not checked in again within this time", decimals=1)
        self.samples = _spin(1, 30, enrol_samples(settings), "", "Samples captured from the camera per enrolment")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(settings.device if settings.device in ("auto", "cpu", "cuda") else "auto")
        self.folder = QLineEdit(str(settings.database_path().parent))
        self._layout()

    def _layout(self) -> None:
        help_label = QLabel(THRESHOLD_HELP)
        help_label.setWordWrap(True)
        help_label.setStyleSheet("color: #555;")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form = QFormLayout(self)
        for label, field in (("Camera:", self.camera), ("Recognition threshold:", self.threshold),
                             ("", help_label), ("Smallest face:", self.min_face), ("", self.auto),
                             ("Frames in a row:", self.frames), ("Cooldown:", self.cooldown),
                             ("Samples per enrolment:", self.samples), ("Run networks on:", self.device)):
            form.addRow(label, field)
        form.addRow("Data folder:", folder_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        form.addRow(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.resize(520, 0)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def result_settings(self) -> Settings:
        """The settings as edited (the original object is left untouched)."""
        extra = dict(self.original.extra)
        extra[ENROL_SAMPLES] = str(self.samples.value())
        folder = Path(self.folder.text().strip()).expanduser() if self.folder.text().strip() else None
        database = self.original.database
        if folder is not None and folder != self.original.database_path().parent:
            database = str(folder / "faceattend.db")
        return dataclasses.replace(
            self.original, camera=self.camera.text().strip() or self.original.camera,
            threshold=round(self.threshold.value(), 3), min_face_size=self.min_face.value(),
            auto_checkin=self.auto.isChecked(), auto_checkin_frames=self.frames.value(),
            cooldown_minutes=self.cooldown.value(), device=self.device.currentText(),
            database=database, extra=extra,
        )

"""The settings a user can change, saved per user (``config.save_settings``) when accepted.

Nothing out of range gets past OK: the spin boxes only span each field's range
(``config.RANGES``), and what a spin box cannot bound (the camera, the data folder, CUDA on a
computer without it) is checked on OK; a refused entry gets a message saying why and goes back
to its old value, and the dialog stays open.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from faceattend.config import (
    DEVICES,
    RANGES,
    Settings,
    camera_problem,
    cuda_problem,
    data_folder_problem,
    problems,
)
from faceattend.gui import qtutil

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


def _spin(name: str, value: float, suffix: str = "", tip: str = "",
          decimals: int | None = None) -> QSpinBox | QDoubleSpinBox:
    """A spin box spanning the range of the setting ``name`` (integer unless ``decimals``)."""
    limits = RANGES[name]
    box: QSpinBox | QDoubleSpinBox = QSpinBox() if decimals is None else QDoubleSpinBox()
    if isinstance(box, QDoubleSpinBox):
        box.setDecimals(int(decimals or 0))
        box.setSingleStep(10 ** -int(decimals or 0))
    box.setRange(limits.low, limits.high)  # type: ignore[arg-type]
    box.setValue(value)  # type: ignore[arg-type]
    box.setSuffix(suffix)
    box.setToolTip(f"{tip} ({limits.text()}: {limits.why})" if tip else f"{limits.text()}: {limits.why}")
    return box


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` gives it back after OK."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.original = settings
        self.camera = QLineEdit(settings.camera)
        self.camera.setToolTip("A camera number (0, 1…), a video file, or an rtsp:// address")
        self.threshold = _spin("threshold", settings.threshold, decimals=2)
        self.min_face = _spin("min_face_size", settings.min_face_size, " px",
                              "Faces smaller than this are not looked for; smaller is slower")
        self.scale = _spin("scale_factor", settings.scale_factor, "",
                           "Step between the detector's image sizes; larger finds more faces, slower", decimals=3)
        self.auto = QCheckBox("Check people in automatically")
        self.auto.setChecked(settings.auto_checkin)
        self.frames = _spin("auto_checkin_frames", settings.auto_checkin_frames, "",
                            "How many recognitions in a row before an automatic check-in")
        self.cooldown = _spin("cooldown_minutes", settings.cooldown_minutes, " min",
                              "The same person is not checked in again within this time", decimals=1)
        self.samples = QSpinBox()
        self.samples.setRange(1, 30)
        self.samples.setValue(enrol_samples(settings))
        self.samples.setToolTip("Samples captured from the camera per enrolment")
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(settings.device if settings.device in DEVICES else "auto")
        self.folder = QLineEdit(str(settings.database_path().parent))
        # Privacy (faceattend.privacy, gui/admin_lock.py): applied at start-up and by `faceattend retention apply`.
        self.relock = _spin("admin_relock_minutes", settings.admin_relock_minutes, " min",
                            "An unlocked window locks again after this long without a key press or click", decimals=0)
        self.retention = _spin("retention_months", settings.retention_months, " months",
                               "Attendance records and audit events older than this are deleted; 0 keeps them all")
        self.drop_crops = QCheckBox("Delete face images, keep only the embeddings")
        self.drop_crops.setChecked(settings.retention_drop_crops)
        self.privacy_help = QLabel(
            "Retention runs at start-up and with `faceattend retention apply`. Deleted records and audit events "
            "cannot be brought back (backups keep them until they roll over). Without face images people are "
            "still recognised, but a new or retrained model cannot re-embed them: they must be enrolled again.")
        self.privacy_help.setWordWrap(True)
        self.privacy_help.setStyleSheet("color: #555;")
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
                             ("", help_label), ("Smallest face:", self.min_face), ("Detector step:", self.scale),
                             ("", self.auto), ("Frames in a row:", self.frames), ("Cooldown:", self.cooldown),
                             ("Samples per enrolment:", self.samples), ("Run networks on:", self.device)):
            form.addRow(label, field)
        form.addRow("Data folder:", folder_row)
        for label, field in (("Lock again after:", self.relock), ("Keep records for:", self.retention),
                             ("", self.drop_crops), ("", self.privacy_help)):
            form.addRow(label, field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        form.addRow(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.resize(520, 0)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _folder(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text).expanduser() if text else None

    def refused(self) -> list[str]:
        """What is wrong with the entries, each put back to its old value; [] when all are fine."""
        found: list[str] = []
        camera = self.camera.text().strip()
        if camera and camera != self.original.camera and (reason := camera_problem(camera)):
            found.append(f"Camera: {reason}.")
            self.camera.setText(self.original.camera)
        folder = self._folder()
        if folder is not None and folder != self.original.database_path().parent:
            if reason := data_folder_problem(folder):
                found.append(f"Data folder: {reason}.")
                self.folder.setText(str(self.original.database_path().parent))
        if self.device.currentText() == "cuda" and self.original.device != "cuda" and (reason := cuda_problem()):
            found.append(f"Run networks on: CUDA cannot be used: {reason}. The networks stay on "
                         f"{self.original.device}.")
            self.device.setCurrentText(self.original.device if self.original.device in DEVICES else "auto")
        found += [f"{reason}." for reason in problems(self.result_settings()).values()]
        return found

    def accept(self) -> None:
        """OK: keep the dialog open with a message when an entry is refused."""
        found = self.refused()
        if found:
            qtutil.inform(self, "Settings", "\n\n".join(found), error=True)
            return
        super().accept()

    def result_settings(self) -> Settings:
        """The settings as edited (the original object is left untouched)."""
        extra = dict(self.original.extra)
        extra[ENROL_SAMPLES] = str(self.samples.value())
        folder = self._folder()
        database = self.original.database
        if folder is not None and folder != self.original.database_path().parent:
            database = str(folder / "faceattend.db")
        return dataclasses.replace(
            self.original, camera=self.camera.text().strip() or self.original.camera,
            threshold=round(self.threshold.value(), 3), min_face_size=int(self.min_face.value()),
            scale_factor=round(self.scale.value(), 3),
            auto_checkin=self.auto.isChecked(), auto_checkin_frames=int(self.frames.value()),
            cooldown_minutes=self.cooldown.value(), device=self.device.currentText(),
            database=database, extra=extra, admin_relock_minutes=float(self.relock.value()),
            retention_months=int(self.retention.value()), retention_drop_crops=self.drop_crops.isChecked(),
        )

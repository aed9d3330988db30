"""Choosing where the pictures come from: a found camera, a video file or a network stream."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QPushButton, QWidget

from faceattend.camera import STREAM_SCHEMES, list_cameras
from faceattend.gui.workers import Worker

VIDEO_FILE = "__video_file__"
STREAM = "__stream__"
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.m4v *.webm *.wmv *.mpg *.mpeg);;All files (*)"


def describe(spec: str) -> str:
    """How a source spec reads in the list."""
    if spec.isdigit():
        return f"Camera {spec}"
    if spec.lower().startswith(STREAM_SCHEMES):
        return f"Stream {spec.split('@')[-1]}"
    return f"Video {Path(spec).name}"


class CameraBar(QWidget):
    """A list of sources; choosing one emits ``chosen`` with the spec ``open_source`` takes."""

    chosen = Signal(str)

    def __init__(self, current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumWidth(220)
        self.refresh_button = QPushButton("Find cameras")
        self.refresh_button.setToolTip("Look again for connected cameras")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Camera:"))
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.refresh_button)
        self._current = current
        self._cameras: list[int] = []
        self._probe: Worker | None = None
        self._fill()
        self.combo.activated.connect(self._activated)
        self.refresh_button.clicked.connect(self.find_cameras)

    def current(self) -> str:
        return self._current

    def set_current(self, spec: str) -> None:
        self._current = spec
        self._fill()

    def find_cameras(self) -> None:
        """Probe cameras in a thread (on Windows opening each index can take a second); the list
        is filled when the answer comes. At quit the probe is cancelled: its answer is dropped."""
        if self._probe is not None and self._probe.isRunning():
            return
        self.refresh_button.setEnabled(False)
        self._probe = Worker(lambda _token, _report: list_cameras())
        self._probe.done.connect(self._found)
        self._probe.failed.connect(lambda _message: self.refresh_button.setEnabled(True))
        self._probe.start()

    def _found(self, cameras: object) -> None:
        self._cameras = list(cameras) if isinstance(cameras, list) else []
        self.refresh_button.setEnabled(True)
        self._fill()

    def _fill(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        specs = [str(i) for i in self._cameras]
        if self._current and self._current not in specs:
            specs.insert(0, self._current)
        for spec in specs:
            self.combo.addItem(describe(spec), spec)
        self.combo.addItem("Video file…", VIDEO_FILE)
        self.combo.addItem("Network stream (RTSP)…", STREAM)
        index = self.combo.findData(self._current)
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)

    def _activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        spec: str | None = data
        if data == VIDEO_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", VIDEO_FILTER)
            spec = path or None
        elif data == STREAM:
            url, ok = QInputDialog.getText(self, "Network stream", "Address (rtsp://user:password@host/path):")
            spec = url.strip() if ok and url.strip() else None
        if not spec:
            self._fill()  # back to what was chosen before
            return
        self.set_current(spec)
        self.chosen.emit(spec)

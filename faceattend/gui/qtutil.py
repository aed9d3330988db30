"""Small Qt helpers shared by the window and its dialogs."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def to_qimage(frame: np.ndarray) -> QImage:
    """An RGB uint8 frame as a QImage that owns a copy (safe after the array is gone)."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def to_pixmap(frame: np.ndarray, side: int | None = None) -> QPixmap:
    pixmap = QPixmap.fromImage(to_qimage(frame))
    if side:
        pixmap = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
    return pixmap


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """A yes/no question. Every confirmation in the app goes through here (tests replace it)."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def inform(parent: QWidget | None, title: str, text: str, error: bool = False) -> None:
    """A message the user must read (tests replace it, so nothing blocks)."""
    if error:
        QMessageBox.warning(parent, title, text)
    else:
        QMessageBox.information(parent, title, text)


class Toast(QLabel):
    """A banner over the video that confirms a check-in and fades away by itself."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, text: str, ok: bool = True, seconds: float = 4.0) -> None:
        colour = "#1b7f3a" if ok else "#a15c00"
        self.setStyleSheet(f"background: {colour}; color: white; font-size: 16pt; font-weight: bold;"
                           "border-radius: 8px; padding: 10px;")
        self.setText(text)
        self.place()
        self.show()
        self.raise_()
        self._timer.start(int(seconds * 1000))

    def place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        width = min(parent.width() - 40, 640)
        self.setFixedWidth(max(200, width))
        self.adjustSize()
        self.move((parent.width() - self.width()) // 2, 16)

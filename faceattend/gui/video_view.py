"""The live picture with a box and a name over every face."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from faceattend.live import TrackedFace

KNOWN_COLOUR = QColor(46, 204, 113)
UNKNOWN_COLOUR = QColor(231, 76, 60)
PENDING_COLOUR = QColor(149, 165, 166)  # a face not (or no longer) confirmed by its own embedding: "…"
#: Boxes older than this are not drawn: a face that left must not keep its label.
OVERLAY_MAX_AGE_S = 1.5


class VideoView(QWidget):
    """Draws the newest frame and the newest recognition result on top of it.

    Boxes come from a frame slightly older than the one shown (recognition is slower than the
    camera); both share the frame size, so the boxes are mapped with the same transform.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self._faces: list[TrackedFace] = []
        self._faces_time = 0.0
        self._message: str | None = "Starting…"
        self._shown: deque[float] = deque(maxlen=120)
        self.frames_shown = 0

    # -- what to show ----------------------------------------------------------------------
    def set_frame(self, frame: np.ndarray) -> None:
        self._frame = frame  # keeps the buffer alive for the QImage below (no copy)
        height, width = frame.shape[:2]
        self._image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        self._message = None
        self._shown.append(time.perf_counter())
        self.frames_shown += 1
        self.update()

    def set_faces(self, faces: list[TrackedFace]) -> None:
        self._faces = list(faces)
        self._faces_time = time.monotonic()
        self.update()

    def set_message(self, text: str | None) -> None:
        """A sentence in the middle of the view (no camera, camera lost); None to clear."""
        self._message = text
        if text is not None:
            self._frame, self._image, self._faces = None, None, []
        self.update()

    @property
    def message(self) -> str | None:
        return self._message

    @property
    def faces(self) -> list[TrackedFace]:
        """The faces currently drawn (empty once the last result is too old)."""
        if time.monotonic() - self._faces_time > OVERLAY_MAX_AGE_S:
            return []
        return list(self._faces)

    @property
    def labels(self) -> list[str]:
        """The names over the faces now drawn ("Unknown" for strangers, "…" while not confirmed)."""
        return [face.label for face in self.faces]

    def display_fps(self) -> float:
        """Frames shown per second over the last two seconds."""
        now = time.perf_counter()
        recent = [t for t in self._shown if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def current_frame(self) -> np.ndarray | None:
        return self._frame

    # -- painting --------------------------------------------------------------------------
    def _target(self) -> QRectF:
        assert self._image is not None
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self._image is not None and self._message is None:
            target = self._target()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
            self._paint_faces(painter, target)
        if self._message:
            self._paint_message(painter)
        painter.end()

    def _paint_faces(self, painter: QPainter, target: QRectF) -> None:
        assert self._image is not None
        scale = target.width() / self._image.width()
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, min(14.0, target.width() / 60)))
        font.setBold(True)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for face in self.faces:
            x1, y1, x2, y2 = face.detection.box
            box = QRectF(target.x() + x1 * scale, target.y() + y1 * scale, (x2 - x1) * scale, (y2 - y1) * scale)
            colour = KNOWN_COLOUR if face.named else UNKNOWN_COLOUR if face.confirmed else PENDING_COLOUR
            painter.setPen(QPen(colour, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(box)
            text = f"{face.label}  {face.match.similarity:.2f}" if face.named else face.label
            width, height = metrics.horizontalAdvance(text) + 10, metrics.height() + 4
            top = box.top() - height if box.top() - height >= target.top() else box.bottom()
            label = QRectF(box.left() - 1.5, top, width, height)
            painter.fillRect(label, colour)
            painter.setPen(QColor("white"))
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_message(self, painter: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSize(14)
        painter.setFont(font)
        painter.setPen(QColor(235, 235, 235))
        area = self.rect().adjusted(40, 40, -40, -40)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message or "")

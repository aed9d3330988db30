"""The training wizard's live loss plot; it knows nothing of training.

Kept out of ``train_wizard`` so that module stays about the pages and their order.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from faceattend.train.engine import Progress

PLOT_COLOURS = ["#1f77b4", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


class LossPlot(QWidget):
    """Loss terms per step (left axis, log-free, auto-scaled) and validation per epoch (right, %)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(220)
        self.losses: dict[str, list[tuple[int, float]]] = {}
        self.validation: list[tuple[int, float, float | None]] = []  # (step, identification, FAR)
        self.steps = 1

    def clear(self) -> None:
        self.losses, self.validation = {}, []
        self.update()

    def add(self, report: Progress) -> None:
        self.steps = max(self.steps, report.steps)
        for name, value in report.losses.items():
            self.losses.setdefault(name, []).append((report.step, value))
        v = report.validation
        if v is not None and v.identification is not None:
            self.validation.append((report.step, v.identification, v.false_accepts))
        self.update()

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        area = QRectF(self.rect()).adjusted(44, 10, -44, -26)
        p.setPen(QPen(QColor("#888")))
        p.drawRect(area)
        top = max([v for series in self.losses.values() for _, v in series] + [1e-6])
        left, right = Qt.AlignmentFlag.AlignRight, Qt.AlignmentFlag.AlignLeft
        for x, y, align, text in ((0, area.top() - 6, left, f"{top:.2g}"), (0, area.bottom() - 8, left, "0"),
                                  (area.right() + 4, area.top() - 6, right, "100%"),
                                  (area.right() + 4, area.bottom() - 8, right, "0%")):
            p.drawText(QRectF(x, y, 40, 14), align, text)
        p.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), 16),
                   Qt.AlignmentFlag.AlignHCenter, f"step (of {self.steps})")

        def point(step: float, value: float, scale: float) -> QPointF:
            return QPointF(area.left() + area.width() * step / max(1, self.steps),
                           area.bottom() - area.height() * min(1.0, value / scale))

        legend = []
        for index, (name, series) in enumerate(sorted(self.losses.items())):
            colour = QColor(PLOT_COLOURS[index % len(PLOT_COLOURS)])
            self._line(p, [point(s, v, top) for s, v in series], colour, 1.2)
            legend.append((name, colour))
        if self.validation:
            green, orange = QColor("#2ca02c"), QColor("#ff7f0e")
            self._line(p, [point(s, v, 1.0) for s, v, _ in self.validation], green, 2.5)
            legend.append(("identification", green))
            if self.validation[0][2] is not None:
                self._line(p, [point(s, f or 0.0, 1.0) for s, _, f in self.validation], orange, 2.5)
                legend.append(("false accepts", orange))
        x = area.left() + 8
        for name, colour in legend:
            p.setPen(QPen(colour, 3))
            p.drawLine(QPointF(x, area.top() + 10), QPointF(x + 14, area.top() + 10))
            p.setPen(QColor("black"))
            p.drawText(QPointF(x + 18, area.top() + 14), name)
            x += 26 + p.fontMetrics().horizontalAdvance(name)
        p.end()

    @staticmethod
    def _line(p: QPainter, points: list[QPointF], colour: QColor, width: float) -> None:
        if not points:
            return
        path = QPainterPath(points[0])
        for pt in points[1:]:
            path.lineTo(pt)
        p.setPen(QPen(colour, width))
        p.drawPath(path)
        if len(points) == 1:
            p.drawEllipse(points[0], 2, 2)

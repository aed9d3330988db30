"""The Qt binding must not leak references: a leak in the paint loop kills the window within minutes.

PySide6 6.12.0 drops one reference to ``None`` on every wrapped call that returns nothing
(``QPainter.setPen``, ``fillRect``, ``QWidget.update``...) on Python 3.11. The window makes
thousands of such calls a minute, so after 1-2 minutes of video ``None``'s count reaches zero
and the interpreter aborts ("none_dealloc"). constraints.txt pins a release without the leak;
this test is what stops a pin move from bringing it back. (On Python 3.12+ ``None`` is
immortal and its count never moves, so there the test passes whatever the binding does.)
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

CALLS = 2000


def _paint_burst(painter: QPainter, calls: int) -> None:
    pen, colour, rect = QPen(QColor("green"), 2), QColor(0, 0, 0, 128), QRect(1, 1, 20, 20)
    for _ in range(calls):
        painter.setPen(pen)
        painter.fillRect(rect, colour)
        painter.drawRect(rect)


def test_painting_does_not_leak_references_to_none() -> None:
    image = QImage(64, 64, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.black)
    painter = QPainter(image)
    try:
        _paint_burst(painter, 10)  # warm up caches the binding fills once
        before = sys.getrefcount(None)
        _paint_burst(painter, CALLS)
        after = sys.getrefcount(None)
    finally:
        painter.end()
    # 3 calls per iteration: a leak shows as thousands; unrelated churn is a handful at most.
    assert abs(after - before) < CALLS // 10, f"None refcount moved {before} -> {after} over {3 * CALLS} calls"


def test_widget_update_does_not_leak_references_to_none(qtbot) -> None:  # noqa: ANN001 (pytest-qt fixture)
    from PySide6.QtWidgets import QWidget

    widget = QWidget()
    qtbot.addWidget(widget)
    widget.update()
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        widget.update()
    after = sys.getrefcount(None)
    assert abs(after - before) < CALLS // 10, f"None refcount moved {before} -> {after} over {CALLS} calls"

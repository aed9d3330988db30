"""The live tab: the picture, who is recognised now, check-in buttons and the log of check-ins.

Only faces named by a recent embedding of their own can be checked in: an "Unknown" or pending
("…") face never reaches the store. Automatic check-in follows :class:`faceattend.live.AutoCheckin`
(several independent embeddings); a write that fails (StoreError) is retried on later frames.
The store applies the cooldown, so pressing the button twice records one check-in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceattend.config import Settings
from faceattend.gui.qtutil import Toast
from faceattend.gui.video_view import OVERLAY_MAX_AGE_S, VideoView
from faceattend.live import AutoCheckin, TrackedFace
from faceattend.store import CHECK_IN, Event, Store, StoreError, attendance

#: Seconds between automatic attempts while the store refuses writes (a busy or full database).
AUTO_RETRY_S = 1.0


class ViewWithToast(QWidget):
    """The video view with the confirmation banner floating over its top edge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = VideoView(self)
        self.toast = Toast(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.toast.place()


class LivePanel(QWidget):
    recorded = Signal(object)  # Event, after each check-in or check-out
    enrol_requested = Signal()

    def __init__(self, settings: Settings, store: Callable[[], Store], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._store = store
        self._faces: list[TrackedFace] = []
        self._faces_time = 0.0
        self._retry_at = 0.0  # after a failed write, automatic check-in waits until then (no retry per frame)
        self.auto_rules = AutoCheckin.from_settings(settings, self.cooldown())
        self.picture = ViewWithToast()  # not ``screen``: that name is QWidget.screen()
        self.view, self.toast = self.picture.view, self.picture.toast
        self.present = QListWidget()
        self.present.setToolTip("Select one person to check in only them")
        self.checkin_button = QPushButton("Check in")
        self.checkin_button.setStyleSheet("font-size: 14pt; font-weight: bold; padding: 10px;")
        self.checkout_button = QPushButton("Check out")
        self.auto_box = QCheckBox("Automatic check-in")
        self.auto_box.setChecked(settings.auto_checkin)
        self.enrol_button = QPushButton("Enrol a person…")
        self.log = QListWidget()
        self.log.setWordWrap(True)
        self.log.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._layout()
        self.checkin_button.clicked.connect(lambda: self.check_in(CHECK_IN))
        self.checkout_button.clicked.connect(lambda: self.check_in(attendance.CHECK_OUT))
        self.enrol_button.clicked.connect(self.enrol_requested.emit)

    def _layout(self) -> None:
        side = QVBoxLayout()
        side.addWidget(QLabel("Recognised now:"))
        side.addWidget(self.present, 1)
        side.addWidget(self.checkin_button)
        side.addWidget(self.checkout_button)
        side.addWidget(self.auto_box)
        side.addWidget(self.enrol_button)
        side.addWidget(QLabel("Check-ins:"))
        side.addWidget(self.log, 2)
        column = QWidget()
        column.setLayout(side)
        column.setFixedWidth(260)
        layout = QHBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(column)

    def cooldown(self) -> timedelta:
        return timedelta(minutes=max(0.0, self.settings.cooldown_minutes))

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.auto_rules = AutoCheckin.from_settings(settings, self.cooldown())
        self.auto_box.setChecked(settings.auto_checkin)

    # -- recognition results ---------------------------------------------------------------
    def show_faces(self, faces: list[TrackedFace]) -> None:
        self._faces, self._faces_time = list(faces), time.monotonic()
        self.view.set_faces(faces)
        self._fill_present()
        if self.auto_box.isChecked() and time.monotonic() >= self._retry_at:
            for face in self.auto_rules.due(faces):
                self._record(face, CHECK_IN, "camera (automatic)")

    def clear_faces(self) -> None:
        self.show_faces([])

    def recognised(self) -> list[TrackedFace]:
        """Named faces of the latest result (one per person, the best score), if still fresh.

        Only names confirmed by a recent embedding of the face in view count: a face shown as
        pending ("…"), whatever name its track last had, is never checked in."""
        if time.monotonic() - self._faces_time > OVERLAY_MAX_AGE_S:
            return []
        best: dict[int, TrackedFace] = {}
        for face in self._faces:
            pid = face.match.person_id
            if pid is None or not face.named:
                continue
            if pid not in best or face.match.similarity > best[pid].match.similarity:
                best[pid] = face
        return list(best.values())

    def _fill_present(self) -> None:
        selected = self.selected_person()
        self.present.blockSignals(True)
        self.present.clear()
        for face in self.recognised():
            item = QListWidgetItem(f"{face.match.label}  ({face.match.similarity:.2f})")
            item.setData(Qt.ItemDataRole.UserRole, face.match.person_id)
            self.present.addItem(item)
            if face.match.person_id == selected:
                item.setSelected(True)
                self.present.setCurrentItem(item)
        self.present.blockSignals(False)

    def selected_person(self) -> int | None:
        items = self.present.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    # -- check-in --------------------------------------------------------------------------
    def check_in(self, kind: str = CHECK_IN) -> list[Event]:
        """Record everyone recognised now, or only the selected person; returns what was recorded."""
        faces = self.recognised()
        selected = self.selected_person()
        if selected is not None:
            faces = [f for f in faces if f.match.person_id == selected]
        if not faces:
            self.toast.show_message("Nobody recognised: nothing recorded", ok=False)
            return []
        events = [self._record(face, kind, "camera (button)") for face in faces]
        return [e for e in events if e is not None]

    def _record(self, face: TrackedFace, kind: str, source: str) -> Event | None:
        pid = face.match.person_id
        if pid is None:  # never: only known faces get here; kept as the last guard
            return None
        try:
            event = attendance.record(self._store(), pid, kind, score=face.match.similarity, source=source,
                                      cooldown=self.cooldown())
        except StoreError as error:  # not marked as recorded: the next frames try again, a second apart
            self.toast.show_message(str(error), ok=False)
            self._retry_at = time.monotonic() + AUTO_RETRY_S
            return None
        if kind == CHECK_IN:  # committed (or refused within the cooldown): no automatic retry until it ends
            self.auto_rules.recorded(pid, event.time if event is not None else datetime.now(UTC))
        verb = "checked in" if kind == CHECK_IN else "checked out"
        if event is None:
            self.toast.show_message(f"{face.match.label} was already {verb}", ok=False)
            return None
        when = event.time.astimezone().strftime("%H:%M:%S")
        self.toast.show_message(f"✓ {event.name} {verb} at {when}")
        self.log.insertItem(0, f"{when}  {verb}: {event.name}")
        self.recorded.emit(event)
        return event

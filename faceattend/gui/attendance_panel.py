"""The attendance tab: the summary of a day or a date range, the records behind it, corrections, CSV.

Removed records stay in the lower table, greyed and struck through, with the reason; *Undo
removal* makes one count again (both are audit events). Corrections and export go through
``guard`` first (the window sets it to the administrator lock's ``require``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from PySide6.QtCore import QDate, QDateTime, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceattend.gui import qtutil
from faceattend.store import CHECK_IN, CHECK_OUT, DayRow, Event, Store, StoreError, attendance
from faceattend.store.export import write_csv

SUMMARY_COLUMNS = ["Date", "Name", "ID", "Group", "First check-in", "Last check-out", "Status"]
EVENT_COLUMNS = ["Time", "Name", "Kind", "Score", "Source", "Note", "Removed because"]
REMOVED_COLOUR = QColor("#8a8a8a")


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S") if moment is not None else ""


def _table(columns: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


class ManualRecordDialog(QDialog):
    """A check-in or check-out typed in by the operator, with the reason kept in the record."""

    def __init__(self, store: Store, day: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an attendance record")
        # The day shown in the table at the current clock time: corrections are usually for it.
        moment = QDateTime(QDate(day.year, day.month, day.day), QDateTime.currentDateTime().time())
        self.time = QDateTimeEdit(min(moment, QDateTime.currentDateTime()))
        self.time.setCalendarPopup(True)
        self.time.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.time.setMaximumDateTime(QDateTime.currentDateTime())
        self.person = QComboBox()
        for person in store.people():
            self.person.addItem(person.name, person.id)
        self.kind = QComboBox()
        self.kind.addItems([CHECK_IN, CHECK_OUT])
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why it is added by hand (required)")
        form = QFormLayout(self)
        form.addRow("Person:", self.person)
        form.addRow("Record:", self.kind)
        form.addRow("Time:", self.time)
        form.addRow("Reason:", self.reason)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        form.addRow(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)


class AttendancePanel(QWidget):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.rows: list[DayRow] = []
        self.events: list[Event] = []
        today = QDate.currentDate()
        self.first, self.last = QDateEdit(today), QDateEdit(today)
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(lambda _d: self.refresh())
        self.today_button = QPushButton("Today")
        self.export_button = QPushButton("Export CSV…")
        self.add_button = QPushButton("Add record…")
        self.remove_button = QPushButton("Remove record…")
        self.undo_button = QPushButton("Undo removal")
        self.undo_button.setToolTip("Make the selected removed record count again")
        self.show_removed = QCheckBox("Show removed records")
        self.show_removed.setChecked(True)
        self.guard: Callable[[str], bool] = lambda _what: True
        self.summary = _table(SUMMARY_COLUMNS)
        self.records = _table(EVENT_COLUMNS)
        self.status = QLabel()
        self._layout()
        self.today_button.clicked.connect(self.show_today)
        self.export_button.clicked.connect(self._ask_export)
        self.add_button.clicked.connect(self._ask_add)
        self.remove_button.clicked.connect(self._ask_remove)
        self.undo_button.clicked.connect(self._ask_restore)
        self.show_removed.toggled.connect(lambda _on: self.refresh())
        self.records.itemSelectionChanged.connect(self._selection_changed)
        # An app left open overnight: a table showing "today" moves on to the new day by itself.
        self._today = date.today()
        self._midnight = QTimer(self)
        self._midnight.timeout.connect(lambda: self.follow_date(date.today()))
        self._midnight.start(30_000)
        self.refresh()

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("From"))
        bar.addWidget(self.first)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.last)
        bar.addWidget(self.today_button)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        records_bar = QHBoxLayout()
        records_bar.addWidget(QLabel("Records (corrections keep the removed record with its reason):"))
        records_bar.addStretch(1)
        records_bar.addWidget(self.show_removed)
        records_bar.addWidget(self.add_button)
        records_bar.addWidget(self.remove_button)
        records_bar.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary, 3)
        layout.addLayout(records_bar)
        layout.addWidget(self.records, 2)
        layout.addWidget(self.status)

    def set_store(self, store: Store) -> None:
        self.store = store
        self.refresh()

    def date_range(self) -> tuple[date, date]:
        first, last = self.first.date().toPython(), self.last.date().toPython()
        assert isinstance(first, date) and isinstance(last, date)
        return first, last

    def set_range(self, first: date, last: date) -> None:
        for edit, value in ((self.first, first), (self.last, last)):
            edit.blockSignals(True)
            edit.setDate(QDate(value.year, value.month, value.day))
            edit.blockSignals(False)
        self.refresh()

    def show_today(self) -> None:
        self.set_range(date.today(), date.today())

    def follow_date(self, today: date) -> None:
        """When the date changes, a table that showed the previous "today" shows the new one."""
        if today != self._today:
            if self.date_range() == (self._today, self._today):
                self.set_range(today, today)
            self._today = today

    def refresh(self) -> None:
        first, last = self.date_range()
        try:
            self.rows = attendance.summary(self.store, first, last)
            start = attendance.local_day_bounds(first)[0]
            end = attendance.local_day_bounds(last)[1] if last >= first else start
            self.events = attendance.events(self.store, start, end, include_removed=self.show_removed.isChecked())
        except StoreError as error:
            self.rows, self.events = [], []
            self.status.setText(str(error))
        else:
            present = sum(1 for r in self.rows if r.status != "absent")
            self.status.setText(f"{present} of {len(self.rows)} present" if self.rows else "Nobody enrolled yet")
        self._fill_summary()
        self._fill_records()
        self._selection_changed()

    def _fill_summary(self) -> None:
        self.summary.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            cells = [row.day.isoformat(), row.name, row.external_id or "", row.group_name or "",
                     _clock(row.first_check_in), _clock(row.last_check_out), row.status]
            for c, text in enumerate(cells):
                self.summary.setItem(r, c, QTableWidgetItem(text))

    def _fill_records(self) -> None:
        self.records.setRowCount(len(self.events))
        for r, ev in enumerate(self.events):
            score = f"{ev.score:.2f}" if ev.score is not None else ""
            cells = [ev.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"), ev.name, ev.kind, score, ev.source, ev.note,
                     ev.removed_reason or ""]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, ev.id)
                if ev.removed_reason is not None:
                    _grey(item, ev.removed_reason)
                self.records.setItem(r, c, item)

    def selected_event(self) -> Event | None:
        row = self.records.currentRow()
        return self.events[row] if 0 <= row < len(self.events) and self.records.selectedItems() else None

    def _selection_changed(self) -> None:
        chosen = self.selected_event()
        self.remove_button.setEnabled(chosen is None or chosen.removed_reason is None)
        self.undo_button.setEnabled(chosen is not None and chosen.removed_reason is not None)

    # -- corrections and export (ask_* show dialogs; the others are what tests call) --------
    def add_record(self, person_id: int, kind: str, reason: str, at: datetime | None = None) -> Event | None:
        """Record by hand (``at``: local or aware time; None is now), then show it."""
        if not self.guard("Adding an attendance record"):
            return None
        if not reason.strip():
            qtutil.inform(self, "Add record", "Please give a reason for the manual record.", error=True)
            return None
        try:
            moment = at.astimezone() if at is not None else None
            event = attendance.record(self.store, person_id, kind, source="manual", note=reason.strip(), at=moment)
        except StoreError as error:
            qtutil.inform(self, "Add record", str(error), error=True)
            return None
        self.refresh()
        return event

    def remove_record(self, event_id: int, reason: str) -> bool:
        if not self.guard("Removing an attendance record"):
            return False
        try:
            attendance.remove_event(self.store, event_id, reason)
        except StoreError as error:
            qtutil.inform(self, "Remove record", str(error), error=True)
            return False
        self.refresh()
        return True

    def restore_record(self, event_id: int) -> bool:
        """Undo a removal: the record counts again (the undo is an audit event)."""
        if not self.guard("Undoing a removal"):
            return False
        try:
            attendance.restore_event(self.store, event_id)
        except StoreError as error:
            qtutil.inform(self, "Undo removal", str(error), error=True)
            return False
        self.refresh()
        return True

    def export_csv(self, path: Path | str) -> int | None:
        """Write the summary now shown; returns the number of rows written (None: refused)."""
        if not self.guard("Exporting attendance"):
            return None
        count = write_csv(self.rows, path)
        first, last = self.date_range()
        try:
            self.store.log("export", str(path), {"what": "attendance", "from": first.isoformat(),
                                                 "to": last.isoformat(), "rows": count})
        except StoreError as error:  # written, but the trail could not say so: tell the user
            self.status.setText(f"{count} row(s) written to {path}; not in the audit trail: {error}")
            return count
        self.status.setText(f"{count} row(s) written to {path}")
        return count

    def _ask_add(self) -> None:
        if not self.guard("Adding an attendance record"):
            return
        if not self.store.people():
            qtutil.inform(self, "Add record", "Nobody is enrolled yet.")
            return
        dialog = ManualRecordDialog(self.store, self.date_range()[1], self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            at = dialog.time.dateTime().toPython()
            assert isinstance(at, datetime)
            self.add_record(int(dialog.person.currentData()), dialog.kind.currentText(), dialog.reason.text(), at)

    def _ask_remove(self) -> None:
        row = self.records.currentRow()
        if row < 0:
            qtutil.inform(self, "Remove record", "Select a record in the lower table first.")
            return
        event = self.events[row]
        if event.removed_reason is not None:
            qtutil.inform(self, "Remove record", f"This record is already removed ({event.removed_reason}); "
                          "Undo removal makes it count again.")
            return
        if not self.guard("Removing an attendance record"):
            return
        reason, ok = QInputDialog.getText(self, "Remove record",
                                          f"Why remove the {event.kind} of {event.name}? (kept for the audit trail)")
        if ok:
            self.remove_record(event.id, reason)

    def _ask_restore(self) -> None:
        event = self.selected_event()
        if event is None or event.removed_reason is None:
            qtutil.inform(self, "Undo removal", "Select a removed (grey) record in the lower table first.")
            return
        if qtutil.ask(self, "Undo removal", f"Make the {event.kind} of {event.name} at "
                      f"{event.time.astimezone():%H:%M} count again? It was removed because: {event.removed_reason}"):
            self.restore_record(event.id)

    def _ask_export(self) -> None:
        if not self.guard("Exporting attendance"):
            return
        first, last = self.date_range()
        name = f"attendance-{first.isoformat()}" + (f"-to-{last.isoformat()}" if last != first else "") + ".csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export attendance", name, "CSV files (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except StoreError as error:
            qtutil.inform(self, "Export", str(error), error=True)


def _grey(item: QTableWidgetItem, reason: str) -> None:
    """A removed record: grey, struck through, the reason on hover."""
    item.setForeground(QBrush(REMOVED_COLOUR))
    font = item.font()
    font.setStrikeOut(True)
    font.setItalic(True)
    item.setFont(font)
    item.setToolTip(f"Removed: {reason}")

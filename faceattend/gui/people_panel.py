"""The people tab: who is enrolled, their stored face samples, renaming and removing."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QHBoxLayout, QInputDialog, QLabel, QListView, QListWidget, QListWidgetItem, QPushButton, QSplitter,
    QVBoxLayout, QWidget,
)

from faceattend.gui import qtutil
from faceattend.store import Store, StoreError


class PeoplePanel(QWidget):
    """``changed`` fires after any edit, so the window rebuilds the gallery and the tables."""

    changed = Signal()
    enrol_requested = Signal(object)  # person id, or None for a new person

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.people_list = QListWidget()
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.details = QLabel()
        self.samples_list = QListWidget()
        self.samples_list.setViewMode(QListView.ViewMode.IconMode)
        self.samples_list.setIconSize(QSize(96, 96))
        self.samples_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.new_button = QPushButton("Enrol new person…")
        self.add_button = QPushButton("Add samples…")
        self.rename_button = QPushButton("Rename…")
        self.edit_button = QPushButton("ID and group…")
        self.remove_sample_button = QPushButton("Remove sample")
        self.delete_button = QPushButton("Delete person…")
        self._layout()
        self.people_list.currentRowChanged.connect(lambda _row: self._show_person())
        self.new_button.clicked.connect(lambda: self.enrol_requested.emit(None))
        self.add_button.clicked.connect(lambda: self.enrol_requested.emit(self.selected_id()))
        self.rename_button.clicked.connect(self._ask_rename)
        self.edit_button.clicked.connect(self._ask_details)
        self.remove_sample_button.clicked.connect(self._remove_samples)
        self.delete_button.clicked.connect(self._ask_delete)
        self.refresh()

    def _layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.people_list)
        left_layout.addWidget(self.new_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.details)
        right_layout.addWidget(self.samples_list, 1)
        row = QHBoxLayout()
        for button in (self.add_button, self.rename_button, self.edit_button, self.remove_sample_button,
                       self.delete_button):
            row.addWidget(button)
        right_layout.addLayout(row)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        QVBoxLayout(self).addWidget(splitter)

    def set_store(self, store: Store) -> None:
        self.store = store
        self.refresh()

    # -- reading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        selected = self.selected_id()
        self.people_list.blockSignals(True)
        self.people_list.clear()
        for person in self.store.people():
            item = QListWidgetItem(f"{person.name}  ({person.sample_count})")
            item.setData(Qt.ItemDataRole.UserRole, person.id)
            self.people_list.addItem(item)
            if person.id == selected:
                self.people_list.setCurrentItem(item)
        if self.people_list.currentRow() < 0 and self.people_list.count():
            self.people_list.setCurrentRow(0)
        self.people_list.blockSignals(False)
        self._show_person()

    def selected_id(self) -> int | None:
        item = self.people_list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, person_id: int) -> None:
        for row in range(self.people_list.count()):
            if self.people_list.item(row).data(Qt.ItemDataRole.UserRole) == person_id:
                self.people_list.setCurrentRow(row)

    def _show_person(self) -> None:
        pid = self.selected_id()
        self.samples_list.clear()
        for button in (self.add_button, self.rename_button, self.edit_button, self.remove_sample_button,
                       self.delete_button):
            button.setEnabled(pid is not None)
        if pid is None:
            self.title.setText("Nobody is enrolled yet")
            self.details.setText("Enrol people from the Live tab or with the button on the left.")
            return
        person = self.store.person(pid)
        self.title.setText(person.name)
        extra = [f"ID {person.external_id}" if person.external_id else "", person.group_name or "",
                 f"{person.sample_count} face sample(s)"]
        self.details.setText(" · ".join(part for part in extra if part))
        for sample in self.store.samples(person_id=pid):
            item = QListWidgetItem(QIcon(qtutil.to_pixmap(self.store.sample_crop(sample.id))), "")
            item.setData(Qt.ItemDataRole.UserRole, sample.id)
            item.setToolTip(f"{sample.source}\n{sample.created[:19]} · model {sample.model}")
            self.samples_list.addItem(item)

    def sample_count(self) -> int:
        return self.samples_list.count()

    # -- editing (the ask_* methods show dialogs; the others are what tests call) -----------
    def rename(self, person_id: int, new_name: str) -> bool:
        return self._edit(lambda: self.store.rename_person(person_id, new_name))

    def set_details(self, person_id: int, external_id: str, group: str) -> bool:
        return self._edit(lambda: self.store.update_person(person_id, external_id.strip() or None,
                                                           group.strip() or None))

    def delete(self, person_id: int) -> bool:
        return self._edit(lambda: self.store.remove_person(person_id))

    def _edit(self, action: object) -> bool:
        try:
            action()  # type: ignore[operator]
        except StoreError as error:
            qtutil.inform(self, "Cannot do that", str(error), error=True)
            return False
        self.refresh()
        self.changed.emit()
        return True

    def _ask_rename(self) -> None:
        pid = self.selected_id()
        if pid is None:
            return
        name, ok = QInputDialog.getText(self, "Rename", "New name:", text=self.store.person(pid).name)
        if ok:
            self.rename(pid, name)

    def _ask_details(self) -> None:
        pid = self.selected_id()
        if pid is None:
            return
        person = self.store.person(pid)
        ext, ok = QInputDialog.getText(self, "ID", "Student or staff number:", text=person.external_id or "")
        if not ok:
            return
        group, ok = QInputDialog.getText(self, "Group", "Group (class, team…):", text=person.group_name or "")
        if ok:
            self.set_details(pid, ext, group)

    def _remove_samples(self) -> None:
        ids = [int(item.data(Qt.ItemDataRole.UserRole)) for item in self.samples_list.selectedItems()]
        if not ids:
            qtutil.inform(self, "Remove sample", "Select the sample(s) to remove first.")
            return
        if qtutil.ask(self, "Remove sample", f"Remove {len(ids)} face sample(s)?"):
            self._edit(lambda: [self.store.remove_sample(i) for i in ids])

    def _ask_delete(self) -> None:
        pid = self.selected_id()
        if pid is None:
            return
        name = self.store.person(pid).name
        if qtutil.ask(self, "Delete person", f"Delete {name} with all their face samples and attendance "
                      "records? This cannot be undone."):
            self.delete(pid)

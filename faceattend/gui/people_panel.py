"""The people tab: who is enrolled, their stored face samples, renaming, removing, exporting.

Every change goes through ``guard`` first (the window sets it to the administrator lock's
``require``), so in kiosk mode nothing here happens without the password. Removing a person
offers *archive* (a leaver: face data erased, attendance kept) or *erase* (everything, for a
privacy request); *Export data* writes everything stored about one person to a folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from faceattend import privacy
from faceattend.gui import qtutil
from faceattend.store import Store, StoreError

REMOVAL_TEXT = (
    "How should {name} be removed?\n\n"
    "Archive (someone who left): their face samples are erased and they are no longer recognised; "
    "their name and attendance records stay, so past registers remain complete.\n\n"
    "Erase everything (a privacy request): their face samples, name, attendance records and the "
    "audit events about them are erased. Only an anonymous count remains. This cannot be undone.\n\n"
    "Either way fine-tuned models trained on their face are retired."
)


def choose_removal(parent: QWidget | None, name: str) -> str | None:
    """'archive', 'erase' or None (cancelled). Tests replace this function."""
    box = QMessageBox(QMessageBox.Icon.Question, "Remove person", REMOVAL_TEXT.format(name=name),
                      QMessageBox.StandardButton.Cancel, parent)
    archive = box.addButton("Archive", QMessageBox.ButtonRole.AcceptRole)
    erase = box.addButton("Erase everything", QMessageBox.ButtonRole.DestructiveRole)
    box.exec()
    return "archive" if box.clickedButton() is archive else "erase" if box.clickedButton() is erase else None


def choose_folder(parent: QWidget | None, title: str) -> str:
    """A folder to write into, or '' (tests replace this function)."""
    return QFileDialog.getExistingDirectory(parent, title)


def _placeholder() -> np.ndarray:
    """The thumbnail of a sample whose face crop was deleted by the retention setting."""
    image = np.full((112, 112, 3), 220, np.uint8)
    image[54:58, 20:92] = 150
    return image


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
        self.export_button = QPushButton("Export data…")
        self.export_button.setToolTip("Everything stored about this person (samples, embeddings, attendance, "
                                      "audit events) into a folder, for a data-access request")
        self.delete_button = QPushButton("Remove person…")
        self.guard: Callable[[str], bool] = lambda _what: True
        #: Retires fine-tuned models trained on the given names (set by the window; they need settings).
        self.retire: Callable[[list[str]], None] = lambda _names: None
        self._layout()
        self.people_list.currentRowChanged.connect(lambda _row: self._show_person())
        self.new_button.clicked.connect(lambda: self.enrol_requested.emit(None))
        self.add_button.clicked.connect(lambda: self.enrol_requested.emit(self.selected_id()))
        self.rename_button.clicked.connect(self._ask_rename)
        self.edit_button.clicked.connect(self._ask_details)
        self.remove_sample_button.clicked.connect(self._remove_samples)
        self.delete_button.clicked.connect(self._ask_delete)
        self.export_button.clicked.connect(self._ask_export)
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
        for button in self._person_buttons():
            row.addWidget(button)
        right_layout.addLayout(row)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        QVBoxLayout(self).addWidget(splitter)

    def _person_buttons(self) -> tuple[QPushButton, ...]:
        return (self.add_button, self.rename_button, self.edit_button, self.remove_sample_button,
                self.export_button, self.delete_button)

    def set_store(self, store: Store) -> None:
        self.store = store
        self.refresh()

    # -- reading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        selected = self.selected_id()
        self.people_list.blockSignals(True)
        self.people_list.clear()
        for person in self.store.people():
            archived = "  (archived)" if getattr(person, "archived", None) else ""
            item = QListWidgetItem(f"{person.name}  ({person.sample_count}){archived}")
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
        for button in self._person_buttons():
            button.setEnabled(pid is not None)
        if pid is None:
            self.title.setText("Nobody is enrolled yet")
            self.details.setText("Enrol people from the Live tab or with the button on the left.")
            return
        person = self.store.person(pid)
        self.title.setText(person.name)
        extra = [f"ID {person.external_id}" if person.external_id else "", person.group_name or "",
                 f"{person.sample_count} face sample(s)",
                 "archived: face data erased, attendance kept" if getattr(person, "archived", None) else ""]
        self.details.setText(" · ".join(part for part in extra if part))
        for sample in self.store.samples(person_id=pid):
            crop = self.store.sample_crop_or_none(sample.id)
            if crop is None:  # deleted by the retention setting: the embedding still recognises them
                crop = _placeholder()
            item = QListWidgetItem(QIcon(qtutil.to_pixmap(crop)), "")
            item.setData(Qt.ItemDataRole.UserRole, sample.id)
            item.setToolTip(f"{sample.source}\n{sample.created[:19]} · model {sample.model}")
            self.samples_list.addItem(item)

    def sample_count(self) -> int:
        return self.samples_list.count()

    # -- editing (the ask_* methods show dialogs; the others are what tests call) -----------
    def rename(self, person_id: int, new_name: str) -> bool:
        return self._edit("Renaming", lambda: self.store.rename_person(person_id, new_name))

    def set_details(self, person_id: int, external_id: str, group: str) -> bool:
        return self._edit("Changing the ID and group", lambda: self.store.update_person(
            person_id, external_id.strip() or None, group.strip() or None))

    def remove_samples(self, sample_ids: list[int]) -> bool:
        def remove() -> None:
            for sample_id in sample_ids:
                self.store.remove_sample(sample_id)

        return self._edit("Removing samples", remove)

    def delete(self, person_id: int, mode: str = "erase") -> bool:
        """Archive or erase a person, then retire the fine-tuned models trained on their face."""
        from faceattend.store import erase

        if mode not in ("archive", "erase"):
            raise ValueError(f"unknown removal {mode!r}")
        name = self.store.person(person_id).name
        remove = erase.archive_person if mode == "archive" else erase.erase_person
        done = self._edit("Archiving a person" if mode == "archive" else "Erasing a person",
                          lambda: remove(self.store, person_id))
        if done:
            self.retire([name])
        return done

    def export(self, person_id: int, folder: Path | str) -> Path | None:
        """Everything about one person into a new folder under ``folder``; returns it."""
        if not self.guard("Exporting a person's data"):
            return None
        try:
            report = privacy.export_person(self.store, person_id, Path(folder))
        except (StoreError, OSError) as error:
            qtutil.inform(self, "Export data", f"Nothing was exported: {error}", error=True)
            return None
        qtutil.inform(self, "Export data", f"Written to {report.folder}:\n{report.describe()}")
        return report.folder

    def _edit(self, what: str, action: Callable[[], object]) -> bool:
        if not self.guard(what):
            return False
        try:
            action()
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
            self.remove_samples(ids)

    def _ask_delete(self) -> None:
        pid = self.selected_id()
        if pid is None or not self.guard("Removing a person"):
            return
        name = self.store.person(pid).name
        mode = choose_removal(self, name)
        if mode == "archive" or (mode == "erase" and qtutil.ask(
                self, "Erase everything", f"Erase {name} and everything stored about them? This cannot be undone.")):
            self.delete(pid, mode)

    def _ask_export(self) -> None:
        pid = self.selected_id()
        if pid is None or not self.guard("Exporting a person's data"):
            return
        folder = choose_folder(self, "Export everything stored about this person into…")
        if folder:
            self.export(pid, folder)

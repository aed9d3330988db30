"""The training wizard's first page: who to train on, with which samples; the model in use.

Split from ``train_wizard`` to keep modules short; the page talks to the wizard only through
``settings``, ``switching`` and ``switch_model``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from faceattend.store import Store
from faceattend.train.data import MIN_SAMPLES, RECOMMENDED_SAMPLES, split_pool
from faceattend.train.versions import active_model, list_versions

if TYPE_CHECKING:
    from faceattend.gui.train_wizard import TrainWizard


def _thumbnail(crop: object) -> QIcon:
    image = QImage(crop.data, 112, 112, 336, QImage.Format.Format_RGB888).copy()  # type: ignore[attr-defined]
    return QIcon(QPixmap.fromImage(image.scaled(48, 48)))


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    children = [item.child(i) for i in range(item.childCount())]
    return [child for child in children if child is not None]


class PeoplePage(QWizardPage):
    """Tick people and their samples; counts and a warning where a person has too few."""

    def __init__(self, wizard: TrainWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Who to train on")
        self.setSubTitle("The network learns to tell these people apart. People left unticked keep "
                         "strangers unknown (their faces hold the rest of the network in place) and "
                         "measure false accepts.")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Person / sample", "Samples", "Note"])
        self.tree.setColumnWidth(0, 260)
        self.summary = QLabel(wordWrap=True)
        self.in_use = QLabel()
        self.versions = QComboBox()
        self.switch = QPushButton("Switch to this model")
        self.switch.setToolTip("Re-embeds every enrolled sample with the chosen model; "
                               "no training. Use it to go back to an earlier model or the stock one.")
        self.switch.clicked.connect(lambda: self.w.switch_model(self.versions.currentData()))
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        row = QHBoxLayout()
        for widget in (self.in_use, self.versions, self.switch):
            row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        self.tree.itemChanged.connect(self._changed)
        self.tree.itemExpanded.connect(self._load_thumbnails)

    def show_versions(self) -> None:
        """The model in use, and every saved version (stock first) to switch back to."""
        with Store(self.w.settings.database_path()) as store:
            active = active_model(store)
        self.in_use.setText(f"Model in use: <b>{active}</b>")
        self.versions.clear()
        for version in list_versions(self.w.settings):
            if version.name != active:
                label = "stock model" if version.is_stock else f"{version.info.get('created', '')}"
                self.versions.addItem(f"{version.name} ({label})", version.name)
        self.switch.setEnabled(self.versions.count() > 0)

    def set_switching(self, running: bool) -> None:
        """While the gallery is re-embedded nothing else on the page may start."""
        for widget in (self.switch, self.versions, self.tree):
            widget.setEnabled(not running)
        self.completeChanged.emit()

    def initializePage(self) -> None:  # noqa: N802
        self.tree.blockSignals(True)
        self.tree.clear()
        with Store(self.w.settings.database_path()) as store:
            for person in store.people():
                samples = store.samples(person_id=person.id)
                item = QTreeWidgetItem([person.name, str(len(samples)), ""])
                item.setData(0, Qt.ItemDataRole.UserRole, person.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
                for sample in samples:
                    child = QTreeWidgetItem([f"#{sample.id} {Path(sample.source).name}", "", ""])
                    child.setData(0, Qt.ItemDataRole.UserRole, sample.id)
                    child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    child.setCheckState(0, Qt.CheckState.Checked)
                    item.addChild(child)
                if not samples:
                    item.setCheckState(0, Qt.CheckState.Unchecked)
                self.tree.addTopLevelItem(item)
        self.tree.blockSignals(False)
        self._changed()
        self.show_versions()

    def _load_thumbnails(self, item: QTreeWidgetItem) -> None:
        if item.data(1, Qt.ItemDataRole.UserRole):
            return
        item.setData(1, Qt.ItemDataRole.UserRole, True)
        with Store(self.w.settings.database_path()) as store:
            for child in _children(item):
                child.setIcon(0, _thumbnail(store.sample_crop(child.data(0, Qt.ItemDataRole.UserRole))))

    def _people(self) -> list[tuple[QTreeWidgetItem, list[int]]]:
        """Each person's item with the ids of their ticked samples."""
        rows = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            assert item is not None
            rows.append((item, [int(c.data(0, Qt.ItemDataRole.UserRole)) for c in _children(item)
                                if c.checkState(0) == Qt.CheckState.Checked]))
        return rows

    def selection(self) -> tuple[list[int], list[int], list[int]]:
        """(chosen person ids, their ticked sample ids, the other people with samples)."""
        chosen, samples, others = [], [], []
        for item, ticked in self._people():
            pid = item.data(0, Qt.ItemDataRole.UserRole)
            if ticked:
                chosen.append(pid)
                samples.extend(ticked)
            elif item.childCount():
                others.append(pid)
        return chosen, samples, others

    def _changed(self, *_: object) -> None:
        self.tree.blockSignals(True)
        for item, ticked in self._people():
            n = len(ticked)
            item.setText(1, f"{n} of {item.childCount()}" if n else str(item.childCount()))
            note = f"too few: needs {MIN_SAMPLES}+" if 0 < n < MIN_SAMPLES else (
                f"few: {RECOMMENDED_SAMPLES}+ recommended" if 0 < n < RECOMMENDED_SAMPLES else "")
            item.setText(2, note)
            item.setForeground(2, QColor("#c0392b"))
        self.tree.blockSignals(False)
        chosen, samples, others = self.selection()
        reference, strangers = split_pool(others)
        text = (f"Training on {len(chosen)} people ({len(samples)} samples). {len(others)} other people: "
                f"{len(reference)} keep strangers unknown, {len(strangers)} test false accepts.")
        if len(others) < 2:
            text += (" <b>Untick a few people, or choose a folder of other faces on the next page, "
                     "so that strangers stay unknown and false accepts can be measured.</b>")
        self.summary.setText(text)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        if self.w.switching:
            return False
        counts = [len(ticked) for _, ticked in self._people() if ticked]
        return len(counts) >= 2 and min(counts) >= MIN_SAMPLES

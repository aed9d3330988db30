"""The training wizard: choose people -> options -> train (live plot, Cancel) -> results -> Accept/Discard.

Open it from the main window with::

    wizard = TrainWizard(settings, parent=self)
    wizard.modelChanged.connect(self.reload_recognizer)   # the new active model's name
    wizard.open()

All heavy work (reading crops, training, re-embedding) runs in a QThread that opens its own
database connection; the engine (``faceattend.train``) knows nothing of Qt and reports through a
generator whose reports are re-emitted as signals. Nothing in the database or the models folder
changes until Accept; Discard, Cancel or closing the window delete the candidate file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, QThread, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QMessageBox, QProgressBar, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget, QWizard, QWizardPage,
)

from faceattend.config import Settings
from faceattend.store import Store
from faceattend.train.data import MIN_SAMPLES, RECOMMENDED_SAMPLES, split_pool
from faceattend.train.engine import Progress, TrainOptions, Trainer
from faceattend.train.versions import ModelVersion, activate, discard_candidate, save_candidate

LOSS_HELP = {
    "arcface": "ArcFace (s=64, m=0.5): an angular margin between people; the measured default.",
    "amsoftmax": "AM-Softmax (s=30, m=0.35): a cosine margin; a little gentler than ArcFace.",
    "triplet": "Triplet (margin 0.2, semi-hard mining) plus a softmax term: pulls each person's "
               "photos together and pushes the most similar other person away.",
}
LAYER_HELP = {
    "head": "Head only (default): the last projection; a minute or two on a laptop CPU, least risk.",
    "last": "Last blocks: the head and the last two blocks; a few times slower, a little more change.",
    "all": "Everything: every layer; slow without a graphics card and easiest to overfit.",
}
PLOT_COLOURS = ["#1f77b4", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


class _Worker(QThread):
    """Runs ``job(emit)`` off the GUI thread; ``emit`` turns anything into a queued signal."""

    report = Signal(object)
    failed = Signal(str)

    def __init__(self, job: Callable[[Callable[[object], None]], None], parent: QWidget) -> None:
        super().__init__(parent)
        self.job = job

    def run(self) -> None:
        try:
            self.job(self.report.emit)
        except Exception as error:  # shown to the user; the wizard stays usable
            self.failed.emit(f"{type(error).__name__}: {error}")


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
        p.drawText(QRectF(0, area.top() - 6, 40, 14), Qt.AlignmentFlag.AlignRight, f"{top:.2g}")
        p.drawText(QRectF(0, area.bottom() - 8, 40, 14), Qt.AlignmentFlag.AlignRight, "0")
        p.drawText(QRectF(area.right() + 4, area.top() - 6, 40, 14), Qt.AlignmentFlag.AlignLeft, "100%")
        p.drawText(QRectF(area.right() + 4, area.bottom() - 8, 40, 14), Qt.AlignmentFlag.AlignLeft, "0%")
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


def _thumbnail(crop: object) -> QIcon:
    image = QImage(crop.data, 112, 112, 336, QImage.Format.Format_RGB888).copy()  # type: ignore[attr-defined]
    return QIcon(QPixmap.fromImage(image.scaled(48, 48)))


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
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(self.summary)
        self.tree.itemChanged.connect(self._changed)
        self.tree.itemExpanded.connect(self._load_thumbnails)

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

    def _load_thumbnails(self, item: QTreeWidgetItem) -> None:
        if item.data(1, Qt.ItemDataRole.UserRole):
            return
        item.setData(1, Qt.ItemDataRole.UserRole, True)
        with Store(self.w.settings.database_path()) as store:
            for i in range(item.childCount()):
                child = item.child(i)
                child.setIcon(0, _thumbnail(store.sample_crop(child.data(0, Qt.ItemDataRole.UserRole))))

    def selection(self) -> tuple[list[int], list[int], list[int]]:
        """(chosen person ids, their ticked sample ids, the other people with samples)."""
        chosen, samples, others = [], [], []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            ticked = [item.child(j).data(0, Qt.ItemDataRole.UserRole) for j in range(item.childCount())
                      if item.child(j).checkState(0) == Qt.CheckState.Checked]
            pid = item.data(0, Qt.ItemDataRole.UserRole)
            if ticked:
                chosen.append(pid)
                samples.extend(ticked)
            elif item.childCount():
                others.append(pid)
        return chosen, samples, others

    def _changed(self, *_: object) -> None:
        self.tree.blockSignals(True)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            n = sum(item.child(j).checkState(0) == Qt.CheckState.Checked for j in range(item.childCount()))
            item.setText(1, f"{n} of {item.childCount()}" if n else str(item.childCount()))
            note = ""
            if 0 < n < MIN_SAMPLES:
                note = f"too few: needs {MIN_SAMPLES}+"
            elif 0 < n < RECOMMENDED_SAMPLES:
                note = f"few: {RECOMMENDED_SAMPLES}+ recommended"
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
        counts: dict[int, int] = {}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            n = sum(item.child(j).checkState(0) == Qt.CheckState.Checked for j in range(item.childCount()))
            if n:
                counts[i] = n
        return len(counts) >= 2 and all(n >= MIN_SAMPLES for n in counts.values())


class OptionsPage(QWizardPage):
    """The choices, each with its default explained."""

    def __init__(self, wizard: TrainWizard) -> None:
        super().__init__()
        self.w = wizard
        d = wizard.base_options
        self.setTitle("How to train")
        self.setSubTitle("The defaults were measured to improve separation without letting more "
                         "strangers in; they finish in a minute or two for a class of 30 on a laptop.")
        self.loss = QComboBox()
        self.loss.addItems(list(LOSS_HELP))
        self.layers = QComboBox()
        self.layers.addItems(list(LAYER_HELP))
        self.epochs = QSpinBox(minimum=1, maximum=200)
        self.lr = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=0.1, singleStep=1e-4)
        self.center = QCheckBox("add the centre loss (pulls each person's photos closer together)")
        self.keep = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=20.0, singleStep=0.5)
        self.folder = QLineEdit(placeholderText="optional: a folder of photos of other people")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.help = QLabel(wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Loss", self.loss)
        form.addRow("Layers to train", self.layers)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("", self.center)
        form.addRow("Keep strangers unknown", self.keep)
        form.addRow("Other faces", row)
        form.addRow(self.help)
        self.loss.setCurrentText(d.loss)
        self.layers.setCurrentText(d.layers)
        self.epochs.setValue(d.epochs)
        self.lr.setValue(d.lr)
        self.center.setChecked(d.center_weight > 0)
        self.keep.setValue(d.distill_weight)
        for box in (self.loss, self.layers):
            box.currentTextChanged.connect(self._explain)
        self._explain()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Photos of other people")
        if folder:
            self.folder.setText(folder)

    def _explain(self) -> None:
        d = self.w.base_options
        self.help.setText(
            f"{LOSS_HELP[self.loss.currentText()]}<br>{LAYER_HELP[self.layers.currentText()]}<br>"
            f"Epochs (default {d.epochs}) are passes over the training photos; the learning rate "
            f"(default {d.lr:g}) is the step size. <i>Keep strangers unknown</i> (default "
            f"{d.distill_weight:g}, 0 turns it off) holds the other people's faces where the stock "
            "model puts them, so the new model does not start matching strangers. A folder of "
            "other people's photos helps when few other people are enrolled; it is read in place.")

    def options(self) -> TrainOptions:
        d = self.w.base_options
        return replace(d, loss=self.loss.currentText(), layers=self.layers.currentText(),
                       epochs=self.epochs.value(), lr=self.lr.value(), distill_weight=self.keep.value(),
                       center_weight=(d.center_weight or 0.05) if self.center.isChecked() else 0.0,
                       threshold=self.w.settings.threshold, device=self.w.settings.device)


class TrainPage(QWizardPage):
    """Runs the engine in a worker; progress bar, live plot, Stop."""

    def __init__(self, wizard: TrainWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Training")
        self.setCommitPage(True)
        self.bar = QProgressBar()
        self.status = QLabel(wordWrap=True)
        self.plot = LossPlot()
        self.stop = QPushButton("Cancel training")
        self.stop.clicked.connect(self.w.cancel_training)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.stop, 0, Qt.AlignmentFlag.AlignRight)
        self.finished_ok = False

    def initializePage(self) -> None:  # noqa: N802
        self.finished_ok = False
        self.plot.clear()
        self.stop.setEnabled(True)
        self.w.start_training()

    def show_report(self, report: object) -> None:
        if isinstance(report, str):
            self.status.setText(report)
            return
        if not isinstance(report, Progress):
            return
        self.bar.setMaximum(max(1, report.steps))
        self.bar.setValue(report.step)
        self.bar.setFormat("preparing %p%" if report.stage == "prepare" else "training %p%")
        self.status.setText(report.message)
        if report.stage in ("train", "done"):
            self.plot.add(report)

    def finish(self, ok: bool, message: str) -> None:
        self.finished_ok = ok
        self.stop.setEnabled(False)
        self.status.setText(message)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.finished_ok


class ResultsPage(QWizardPage):
    """Before and after side by side; Accept or Discard."""

    def __init__(self, wizard: TrainWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Results on held-out photos")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "Before (stock)", "After (new)"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 220)
        self.table.setColumnWidth(1, 220)
        self.note = QLabel(wordWrap=True)
        self.bar = QProgressBar(visible=False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        layout.addWidget(self.bar)
        self.setFinalPage(True)

    def initializePage(self) -> None:  # noqa: N802
        result = self.w.result
        if result is None:
            return
        rows = list(zip(result.before.as_rows(), result.after.as_rows()))
        self.table.setRowCount(len(rows))
        for r, ((name, old), (_, new)) in enumerate(rows):
            for c, text in enumerate((name, old, new)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        b, a = result.before, result.after
        verdict = []
        if a.identification is not None and b.identification is not None:
            verdict.append(f"identification {100 * (a.identification - b.identification):+.1f} points")
        if a.false_accepts is not None and b.false_accepts is not None:
            verdict.append(f"false accepts {100 * (a.false_accepts - b.false_accepts):+.1f} points")
        verdict.append(f"gap to the threshold {a.gap - b.gap:+.3f}")
        name = self.w.candidate.name if self.w.candidate else "the new model"
        self.note.setText(f"Change: {', '.join(verdict)}.<br>Accept switches to <b>{name}</b> and re-embeds "
                          "every enrolled sample with it (earlier models stay available and can be "
                          "restored). Discard deletes it and changes nothing.")


class TrainWizard(QWizard):
    """Fine-tune the recogniser on enrolled faces. ``modelChanged(name)`` fires after Accept."""

    modelChanged = Signal(str)
    PEOPLE, OPTIONS, TRAIN, RESULTS = range(4)

    def __init__(self, settings: Settings, parent: QWidget | None = None,
                 base_options: TrainOptions | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.base_options = base_options or TrainOptions()
        self.setWindowTitle("Train the recogniser")
        self.cancel = threading.Event()
        self.worker: _Worker | None = None
        self.result = None
        self.candidate: ModelVersion | None = None
        self.accepted_model: str | None = None
        self.accepting = False
        self.people = PeoplePage(self)
        self.options_page = OptionsPage(self)
        self.train_page = TrainPage(self)
        self.results = ResultsPage(self)
        for page_id, page in enumerate((self.people, self.options_page, self.train_page, self.results)):
            self.setPage(page_id, page)
        self.setButtonText(QWizard.WizardButton.CustomButton1, "Accept")
        self.setButtonText(QWizard.WizardButton.CustomButton2, "Discard")
        self.customButtonClicked.connect(self._custom)
        self.currentIdChanged.connect(self._page_changed)
        self.resize(760, 560)

    def _page_changed(self, page_id: int) -> None:
        B = QWizard.WizardButton
        if page_id == self.RESULTS:
            self.setButtonLayout([B.Stretch, B.CustomButton1, B.CustomButton2])
        else:
            self.setButtonLayout([B.Stretch, B.BackButton, B.NextButton, B.CommitButton, B.CancelButton])

    # -- training -------------------------------------------------------------------------------
    def start_training(self) -> None:
        chosen, samples, _ = self.people.selection()
        options = self.options_page.options()
        folder = self.options_page.folder.text().strip()
        settings, cancel = self.settings, self.cancel
        cancel.clear()
        self._drop_candidate()

        def job(emit: Callable[[object], None]) -> None:
            from faceattend.train.sources import folder_faces, store_data

            extra = None
            if folder:
                from faceattend.detect import load_detector

                emit("reading the other faces…")
                detector = load_detector(settings.min_face_size, settings.scale_factor, device=settings.device)
                extra, _ = folder_faces(detector, Path(folder))
            with Store(settings.database_path()) as store:
                data = store_data(store, chosen, samples, extra=extra)
            for note in data.notes:
                emit(f"note: {note}")
            for report in Trainer(data, options).run(cancel):
                emit(report)
                if report.result is not None:
                    emit(save_candidate(report.result, settings))

        self.worker = _Worker(job, self)
        self.worker.report.connect(self._on_report)
        self.worker.failed.connect(lambda message: self.train_page.finish(False, f"Training failed: {message}"))
        self.worker.start()

    def _on_report(self, report: object) -> None:
        if isinstance(report, ModelVersion):
            self.candidate = report
            self.train_page.finish(True, f"Done in {self.result.seconds:.0f} s. Press Next for the results.")
            return
        if isinstance(report, Progress) and report.result is not None:
            self.result = report.result
        if isinstance(report, Progress) and report.stage == "cancelled":
            self.train_page.finish(False, report.message)
        self.train_page.show_report(report)

    def cancel_training(self) -> None:
        self.cancel.set()

    def _wait_worker(self) -> None:
        if self.worker is not None and self.worker.isRunning():
            self.cancel.set()
            self.worker.wait()

    def _drop_candidate(self) -> None:
        if self.candidate is not None and self.accepted_model is None:
            discard_candidate(self.candidate)
        self.candidate, self.result = None, None

    # -- the end --------------------------------------------------------------------------------
    def _custom(self, which: QWizard.WizardButton) -> None:
        if which == QWizard.WizardButton.CustomButton1:
            self._accept_candidate()
        elif which == QWizard.WizardButton.CustomButton2:
            self.reject()

    def _accept_candidate(self) -> None:
        if self.candidate is None or (self.worker is not None and self.worker.isRunning()):
            return
        name, settings = self.candidate.name, self.settings
        self.accepting = True
        self.button(QWizard.WizardButton.CustomButton1).setEnabled(False)
        self.button(QWizard.WizardButton.CustomButton2).setEnabled(False)
        self.results.bar.setVisible(True)

        def job(emit: Callable[[object], None]) -> None:
            with Store(settings.database_path()) as store:
                activate(store, settings, name, lambda done, total: emit((done, total)))
            emit(name)

        def on_report(report: object) -> None:
            if isinstance(report, tuple):
                self.results.bar.setMaximum(report[1])
                self.results.bar.setValue(report[0])
            else:
                self.accepted_model = str(report)
                self.modelChanged.emit(self.accepted_model)
                self.accept()

        def on_failed(message: str) -> None:
            self.accepting = False
            QMessageBox.warning(self, "Could not switch models", message)
            self.button(QWizard.WizardButton.CustomButton2).setEnabled(True)

        self.worker = _Worker(job, self)
        self.worker.report.connect(on_report)
        self.worker.failed.connect(on_failed)
        self.worker.start()

    def done(self, result: int) -> None:
        """Every way out (Accept, Discard, Cancel, closing) stops the worker; all but Accept
        delete the candidate. While Accept is re-embedding, closing waits for it to finish."""
        if self.accepting and self.accepted_model is None and result != QWizard.DialogCode.Accepted.value:
            return
        self._wait_worker()
        self._drop_candidate()
        super().done(result)

"""The training wizard: choose people -> options -> train (live plot, Cancel) -> results -> Accept/Discard.

Open it from the main window with::

    wizard = TrainWizard(settings, parent=self)
    wizard.modelChanged.connect(self.reload_recognizer)   # the new active model's name
    wizard.open()

All heavy work (reading crops, training, re-embedding) runs in a worker (``gui.workers.Worker``)
that opens its own database connection; the engine (``faceattend.train``) knows nothing of Qt
and reports through a generator whose reports are re-emitted as signals. Cancel, Back and closing
cancel the training and go on at once: it stops at its next batch, in the background. The
database and the model in use change only on Accept (or when the first page switches back to an
earlier model); the candidate's file is written to the models folder when training ends and
Discard, Cancel, Back or closing the window delete it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from faceattend.cancel import CancelToken
from faceattend.config import Settings
from faceattend.gui.train_people import PeoplePage
from faceattend.gui.train_plot import LossPlot
from faceattend.gui.workers import Job, Report, Worker
from faceattend.store import Store
from faceattend.train.engine import Progress, Trainer, TrainOptions, TrainResult
from faceattend.train.metrics import Evaluation
from faceattend.train.versions import ModelVersion, activate, discard_candidate, save_candidate

LOSS_HELP = {
    "amsoftmax": "AM-Softmax (s=30, m=0.35; default): a cosine margin between people; it separated "
                 "look-alikes best in the benchmark without letting strangers in.",
    "arcface": "ArcFace (s=64, m=0.5): an angular margin; it moved the closest pair about a third "
               "as far as AM-Softmax in the benchmark.",
    "triplet": "Triplet (margin 0.2, semi-hard mining) plus a softmax term: pulls each person's "
               "photos together and pushes the most similar other person away; it changed this "
               "model least in the benchmark.",
}
LAYER_HELP = {
    "head": "Head only (default): the last projection; a minute or two on a laptop CPU, least risk.",
    "last": "Last blocks: the head and the last two blocks; a few times slower, a little more change.",
    "all": "Everything: every layer; slow without a graphics card and easiest to overfit.",
}


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
        self.keep = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=100.0, singleStep=1.0)
        self.folder = QLineEdit(placeholderText="optional: a folder of photos of other people")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.help = QLabel(wordWrap=True)
        row = QHBoxLayout()
        for widget in (self.folder, browse):
            row.addWidget(widget)
        form = QFormLayout(self)
        for label, field in (("Loss", self.loss), ("Layers to train", self.layers), ("Epochs", self.epochs),
                             ("Learning rate", self.lr), ("", self.center),
                             ("Keep strangers unknown", self.keep), ("Other faces", row)):
            form.addRow(label, field)
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
        wizard.setButtonText(QWizard.WizardButton.CommitButton, "Results >")
        self.bar = QProgressBar()
        self.status = QLabel(wordWrap=True)
        self.notes = QLabel(wordWrap=True)
        self.notes.setStyleSheet("color: #b35900")
        self.plot = LossPlot()
        self.stop = QPushButton("Cancel training")
        self.stop.clicked.connect(self.w.cancel_training)
        layout = QVBoxLayout(self)
        for widget in (self.status, self.notes, self.bar):
            layout.addWidget(widget)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.stop, 0, Qt.AlignmentFlag.AlignRight)
        self.finished_ok = False

    def initializePage(self) -> None:  # noqa: N802
        self.finished_ok = False
        self.notes.clear()
        self.plot.clear()
        self.stop.setEnabled(True)
        self.w.start_training()

    def cleanupPage(self) -> None:  # noqa: N802 - Back: stop training, forget its model
        self.w._cancel_worker()
        self.w._drop_candidate()

    def show_report(self, report: object) -> None:
        if isinstance(report, list):  # the data's warnings: they stay on screen
            self.notes.setText("<br>".join(f"Note: {note}" for note in report))
        if isinstance(report, str):
            self.status.setText(report)
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
        self.table.verticalHeader().setVisible(False)
        for column in (0, 1):
            self.table.setColumnWidth(column, 240)
        self.note = QLabel(wordWrap=True)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        layout = QVBoxLayout(self)
        for widget in (self.table, self.note, self.bar):
            layout.addWidget(widget)
        self.setFinalPage(True)

    def initializePage(self) -> None:  # noqa: N802
        result = self.w.train_result
        if result is None:
            return
        rows = list(zip(result.before.as_rows(), result.after.as_rows(), strict=False))
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
        if a.gap == a.gap and b.gap == b.gap:  # NaN: no held-out pair of two different people
            verdict.append(f"gap to the threshold (closest held-out pair) {a.gap - b.gap:+.3f}")
        else:
            verdict.append("gap to the threshold n/a (no held-out photos of two different people)")
        name = self.w.candidate.name if self.w.candidate else "the new model"
        self.note.setText(
            f"Change: {', '.join(verdict)}.{advice(b, a)}"
            f"<br>Accept switches to <b>{name}</b> and re-embeds every enrolled sample with it "
            "(earlier models stay available on the first page). Discard deletes it; nothing changes.")


def advice(b: Evaluation, a: Evaluation) -> str:
    """What the figures say about accepting: worse on any count, or unmeasured, is said aloud."""
    if (a.false_accepts or 0) > (b.false_accepts or 0) or (a.identification or 0) < (b.identification or 0):
        return " <b>Not recommended: it does worse on held-out photos; Discard it.</b>"
    text = ""
    if a.gap < b.gap:
        text += " <b>The two people most alike moved closer to being confused.</b>"
    if b.identification is None:
        text += " Identification could not be measured: nobody had 3 or more samples."
    if b.false_accepts is None:
        text += (" <b>False accepts could not be measured</b>: no other people's faces were held out "
                 "(untick some people, or choose a folder of other faces on the options page).")
    return text


class TrainWizard(QWizard):
    """Fine-tune the recogniser on enrolled faces. ``modelChanged(name)`` fires after Accept
    and after switching to an earlier model on the first page."""

    modelChanged = Signal(str)
    PEOPLE, OPTIONS, TRAIN, RESULTS = range(4)

    def __init__(self, settings: Settings, parent: QWidget | None = None,
                 base_options: TrainOptions | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.base_options = base_options or TrainOptions()
        self.setWindowTitle("Train the recogniser")
        self.worker: Worker | None = None
        self.train_result: TrainResult | None = None
        self.candidate: ModelVersion | None = None
        self.accepted_model: str | None = None
        self.accepting = self.switching = False
        self.people = PeoplePage(self)
        self.options_page = OptionsPage(self)
        self.train_page = TrainPage(self)
        self.results = ResultsPage(self)
        for page_id, page in enumerate((self.people, self.options_page, self.train_page, self.results)):
            self.setPage(page_id, page)
        self.setButtonText(QWizard.WizardButton.CustomButton1, "Accept")
        self.setButtonText(QWizard.WizardButton.CustomButton2, "Discard")
        self.button(QWizard.WizardButton.CustomButton1).clicked.connect(self._accept_candidate)
        self.button(QWizard.WizardButton.CustomButton2).clicked.connect(self.reject)
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
        self._drop_candidate()
        self.worker = Worker(training_job(self.settings, chosen, samples, options, folder), dropped=_discard_dropped)
        self.worker.progress.connect(self._on_report)
        self.worker.failed.connect(lambda message: self.train_page.finish(False, f"Training failed: {message}"))
        self.worker.start()

    def _on_report(self, report: object) -> None:
        if isinstance(report, ModelVersion):
            self.candidate = report
            seconds = self.train_result.seconds if self.train_result is not None else 0.0
            self.train_page.finish(True, f"Done in {seconds:.0f} s. Press Results for the figures.")
            return
        if isinstance(report, Progress) and report.result is not None:
            self.train_result = report.result
        self.train_page.show_report(report)

    def cancel_training(self) -> None:
        """Stop now: the run ends at its next batch in the background and nothing of it is kept."""
        if self.worker is not None and self.worker.isRunning() and not self.worker.token.cancelled:
            self._cancel_worker()
            self.train_page.finish(False, "Training cancelled; nothing was saved.")

    def _cancel_worker(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _drop_candidate(self) -> None:
        """Delete the candidate unless it was accepted (then it is the active model)."""
        if self.candidate is not None and self.accepted_model is None:
            discard_candidate(self.candidate)
            self.candidate, self.train_result = None, None

    # -- switching models ---------------------------------------------------------------------
    def _activate(self, name: str, bar: QProgressBar, finished: Callable[[str], None],
                  failed: Callable[[str], None]) -> None:
        """Re-embed the gallery with model ``name`` in a worker, then make it the active model."""
        settings = self.settings
        bar.setVisible(True)
        bar.setValue(0)

        def job(_token: CancelToken, emit: Report) -> None:
            # Not cancellable on purpose: closing is refused until the switch ends (see done()),
            # so that half a switch is never left behind.
            with Store(settings.database_path()) as store:
                activate(store, settings, name, lambda done, total: emit((done, total)))
            emit(name)

        def on_report(report: object) -> None:
            if isinstance(report, tuple):
                bar.setMaximum(max(1, report[1]))
                bar.setValue(report[0])
            else:
                bar.setVisible(False)
                self.modelChanged.emit(str(report))
                finished(str(report))

        def on_failed(message: str) -> None:
            bar.setVisible(False)
            QMessageBox.warning(self, "Could not switch models", message)
            failed(message)

        self.worker = Worker(job)
        self.worker.progress.connect(on_report)
        self.worker.failed.connect(on_failed)
        self.worker.start()

    def busy(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def switch_model(self, name: str) -> None:
        """Go back to an earlier version (or the stock model) without training: the gallery is
        re-embedded with it, exactly as Accept does for a new one."""
        if self.busy() or not name:
            return
        self.switching = True
        self.people.set_switching(True)

        def finished(_: str) -> None:
            self.switching = False
            self.people.set_switching(False)
            self.people.show_versions()

        def failed(_: str) -> None:
            self.switching = False
            self.people.set_switching(False)

        self._activate(name, self.people.bar, finished, failed)

    def _accept_candidate(self) -> None:
        if self.candidate is None or self.busy():
            return
        self.accepting = True
        self.button(QWizard.WizardButton.CustomButton1).setEnabled(False)
        self.button(QWizard.WizardButton.CustomButton2).setEnabled(False)

        def finished(name: str) -> None:
            self.accepted_model = name
            self.accept()

        def failed(_: str) -> None:
            self.accepting = False
            self.button(QWizard.WizardButton.CustomButton2).setEnabled(True)

        self._activate(self.candidate.name, self.results.bar, finished, failed)

    def done(self, result: int) -> None:
        """Every way out (Accept, Discard, Cancel, closing) stops the worker; all but Accept
        delete the candidate. While the gallery is being re-embedded (Accept, or switching to an
        earlier model), closing is refused until it finishes: half a switch is never left behind."""
        if self.switching or (self.accepting and self.accepted_model is None
                              and result != QWizard.DialogCode.Accepted.value):
            return
        self._cancel_worker()
        self._drop_candidate()
        super().done(result)


def training_job(settings: Settings, chosen: list[int], samples: list[int], options: TrainOptions,
                 folder: str) -> Job:
    """One training run as a worker job. Reports, in order: a status line (str), the data's notes
    (list), the engine's Progress, and the saved candidate (ModelVersion). Checks the token
    between steps and every 16 photos of ``folder``; the engine checks it every batch."""

    def job(token: CancelToken, report: Report) -> None:
        from faceattend.train.sources import folder_faces, store_data

        extra = None
        if folder:
            from faceattend.detect import load_detector

            report("reading the other faces…")
            detector = load_detector(settings.min_face_size, settings.scale_factor, device=settings.device)
            token.raise_if_cancelled()
            extra, _ = folder_faces(detector, Path(folder), progress=lambda _done, _total: token.raise_if_cancelled())
        token.raise_if_cancelled()
        with Store(settings.database_path()) as store:
            data = store_data(store, chosen, samples, extra=extra)
        report(data.notes)
        for progress in Trainer(data, options).run(token.event):
            token.raise_if_cancelled()
            report(progress)
            if progress.result is not None:
                report(save_candidate(progress.result, settings))

    return job


def _discard_dropped(value: object) -> None:
    """A candidate saved just as its training was cancelled: nobody will Accept it, so delete it."""
    if isinstance(value, ModelVersion):
        discard_candidate(value)

"""The training wizard on a tiny set of real faces (ORL), offscreen: walked page by page to
Accept (and back to the stock model), to Discard, and cancelled mid-training; and its advice on
hand-made before/after figures."""

from __future__ import annotations

import os
import time
from dataclasses import replace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import pytestqt  # noqa: E402,F401  (a declared test dependency: missing is an error, never a skip)
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QWizard  # noqa: E402
from test_train import enrol_orl, snapshot  # noqa: E402

from faceattend.config import Settings  # noqa: E402
from faceattend.embed import STOCK_MODEL  # noqa: E402
from faceattend.gui.stall import StallMonitor  # noqa: E402
from faceattend.gui.train_wizard import TrainWizard, advice  # noqa: E402
from faceattend.pipeline import ACTIVE_MODEL_KEY, Recognizer, models_dir  # noqa: E402
from faceattend.store import Store  # noqa: E402
from faceattend.train import DEFAULT_LOSS, TrainOptions  # noqa: E402
from faceattend.train.metrics import Evaluation  # noqa: E402

from recognition_fixtures import recognizer  # noqa: E402,F401  (session fixture)


def click(wizard: TrainWizard, button: str) -> None:
    """Press a wizard button the way a user does (only works when the page allows it)."""
    widget = wizard.button(getattr(QWizard.WizardButton, button))
    assert widget.isVisible() and widget.isEnabled(), f"{button} cannot be pressed"
    widget.click()


@pytest.fixture(autouse=True)
def no_message_boxes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A modal box would block the test; record what it would have said and fail on it."""
    said: list[str] = []
    monkeypatch.setattr("faceattend.gui.train_wizard.QMessageBox.warning", lambda *a: said.append(str(a[2])))
    yield said
    assert not said


def test_wizard_walks_to_accept(qtbot, recognizer: Recognizer, tmp_path: Path) -> None:  # noqa: ANN001, F811
    settings = Settings(database=str(tmp_path / "faceattend.db"), device="cpu")
    enrol_orl(recognizer, settings.database_path(), people=5, photos=4)
    wizard = TrainWizard(settings, base_options=TrainOptions(epochs=1, batch_size=8, views=1, device="cpu"))
    qtbot.addWidget(wizard)
    changed: list[str] = []
    wizard.modelChanged.connect(changed.append)
    monitor = StallMonitor(wizard)
    wizard.show()

    people = wizard.people
    assert people.tree.topLevelItemCount() == 5
    first = people.tree.topLevelItem(0)
    for j in (1, 2, 3):
        first.child(j).setCheckState(0, Qt.CheckState.Unchecked)
    assert first.text(1) == "1 of 4" and "too few" in first.text(2) and not people.isComplete()
    first.child(1).setCheckState(0, Qt.CheckState.Checked)  # two: trainable, with a warning
    assert "recommended" in first.text(2) and people.isComplete()
    for j in (2, 3):
        first.child(j).setCheckState(0, Qt.CheckState.Checked)
    assert first.text(2) == ""
    last = people.tree.topLevelItem(4)
    last.setCheckState(0, Qt.CheckState.Unchecked)  # one other person keeps strangers unknown
    assert last.childCount() == 4 and people.isComplete()
    assert "Training on 4 people (16 samples)" in people.summary.text()
    click(wizard, "NextButton")

    assert wizard.currentId() == TrainWizard.OPTIONS
    assert wizard.options_page.epochs.value() == 1 and wizard.options_page.loss.currentText() == DEFAULT_LOSS
    click(wizard, "NextButton")

    assert wizard.currentId() == TrainWizard.TRAIN
    monitor.start()  # training runs in a thread: the window must keep answering meanwhile
    started = time.perf_counter()
    qtbot.waitUntil(wizard.train_page.isComplete, timeout=120_000)
    seconds = time.perf_counter() - started
    monitor.stop()
    # work on the GUI thread would stall it for about the whole run (measured: 1.9 s of training,
    # longest stall 120 ms)
    assert monitor.longest_ms < 500 * seconds, f"GUI stalled {monitor.longest_ms:.0f} ms of {seconds:.1f} s"
    assert wizard.train_page.plot.losses and wizard.train_page.plot.validation
    assert wizard.candidate is not None and wizard.candidate.path.is_file()
    click(wizard, "CommitButton")

    assert wizard.currentId() == TrainWizard.RESULTS
    assert wizard.results.table.rowCount() == 7
    assert wizard.results.table.item(0, 1).text().endswith("of 4")
    assert wizard.button(QWizard.WizardButton.CustomButton1).isVisible()
    with qtbot.waitSignal(wizard.modelChanged, timeout=60_000):
        click(wizard, "CustomButton1")

    name = wizard.candidate.name
    assert changed == [name] and wizard.result() == QWizard.DialogCode.Accepted.value
    assert (models_dir(settings) / f"{name}.pt").is_file()
    with Store(settings.database_path()) as store:
        assert store.get_meta(ACTIVE_MODEL_KEY) == name
        assert store.sample_models() == {name: 20}

    # later: the first page shows the model in use and goes back to the stock one
    again = TrainWizard(settings)
    qtbot.addWidget(again)
    again.modelChanged.connect(changed.append)
    again.show()
    assert name in again.people.in_use.text()
    assert again.people.versions.currentData() == STOCK_MODEL and again.people.versions.count() == 1
    with qtbot.waitSignal(again.modelChanged, timeout=60_000):
        again.people.switch.click()
    qtbot.waitUntil(lambda: not again.switching, timeout=10_000)
    assert changed == [name, STOCK_MODEL] and again.people.isComplete()
    assert STOCK_MODEL in again.people.in_use.text() and again.people.versions.currentData() == name
    with Store(settings.database_path()) as store:
        assert store.get_meta(ACTIVE_MODEL_KEY) == STOCK_MODEL
        assert store.sample_models() == {STOCK_MODEL: 20}
    again.reject()
    assert (models_dir(settings) / f"{name}.pt").is_file()  # kept: it can be chosen again


def test_wizard_discard_leaves_database_and_models_untouched(qtbot, recognizer: Recognizer,  # noqa: ANN001, F811
                                                             tmp_path: Path) -> None:
    settings = Settings(database=str(tmp_path / "faceattend.db"), device="cpu")
    enrol_orl(recognizer, settings.database_path(), people=3, photos=3)
    before = snapshot(settings)
    wizard = TrainWizard(settings, base_options=TrainOptions(epochs=1, batch_size=8, views=1, device="cpu"))
    qtbot.addWidget(wizard)
    changed: list[str] = []
    wizard.modelChanged.connect(changed.append)
    wizard.show()
    click(wizard, "NextButton")
    click(wizard, "NextButton")
    qtbot.waitUntil(wizard.train_page.isComplete, timeout=120_000)
    candidate = wizard.candidate.path
    assert candidate.is_file()  # written while training, not yet in use
    click(wizard, "CommitButton")
    click(wizard, "CustomButton2")  # Discard
    assert wizard.result() == QWizard.DialogCode.Rejected.value and not changed
    assert not candidate.exists()
    assert snapshot(settings) == before


def test_cancel_training_stops_the_worker_and_keeps_nothing(qtbot, recognizer: Recognizer,  # noqa: ANN001, F811
                                                            tmp_path: Path) -> None:
    settings = Settings(database=str(tmp_path / "faceattend.db"), device="cpu")
    enrol_orl(recognizer, settings.database_path(), people=3, photos=3)
    before = snapshot(settings)
    wizard = TrainWizard(settings, base_options=TrainOptions(epochs=200, batch_size=8, views=1, device="cpu"))
    qtbot.addWidget(wizard)
    wizard.show()
    click(wizard, "NextButton")
    click(wizard, "NextButton")
    page = wizard.train_page
    qtbot.waitUntil(lambda: page.plot.losses != {}, timeout=60_000)  # training has started
    page.stop.click()
    qtbot.waitUntil(lambda: not wizard.busy(), timeout=10_000)
    assert "cancelled" in page.status.text() and not page.isComplete()
    assert wizard.candidate is None and wizard.train_result is None
    click(wizard, "BackButton")  # and back to the options: nothing left behind
    assert wizard.currentId() == TrainWizard.OPTIONS
    wizard.reject()
    assert snapshot(settings) == before


# -- the advice under the results table (pure: no window) --------------------------------------
STOCK = Evaluation(threshold=0.47, identification=0.75, rank1=1.0, probes=8, false_accepts=0.25,
                   false_accept_count=1, strangers=4, own_similarity=0.6, stranger_similarity=0.3,
                   closest_pair=0.4, closest_names=("Ann", "Bob"), gap=0.07)
NOT_RECOMMENDED = "Not recommended"


@pytest.mark.parametrize("after", [
    replace(STOCK, identification=0.625),  # one held-out face fewer named
    replace(STOCK, identification=0.875, false_accepts=0.5, false_accept_count=2),  # better, but a stranger more
    replace(STOCK, identification=0.0, rank1=0.0, gap=0.5),  # a wider gap does not make up for it
], ids=["fewer-named", "more-strangers-taken", "wider-gap-but-nobody-named"])
def test_advice_says_not_recommended_when_any_count_is_worse(after: Evaluation) -> None:
    assert NOT_RECOMMENDED in advice(STOCK, after)


@pytest.mark.parametrize("after", [
    STOCK,
    replace(STOCK, identification=0.875),
    replace(STOCK, false_accepts=0.0, false_accept_count=0),
    replace(STOCK, rank1=0.875, own_similarity=0.5),  # only the counts decide
], ids=["unchanged", "more-named", "fewer-strangers-taken", "same-counts-lower-similarity"])
def test_advice_recommends_when_no_count_is_worse(after: Evaluation) -> None:
    text = advice(STOCK, after)
    assert NOT_RECOMMENDED not in text and "closer to being confused" not in text


def test_advice_warns_when_the_most_alike_people_moved_closer() -> None:
    text = advice(STOCK, replace(STOCK, identification=0.875, closest_pair=0.45, gap=0.02))
    assert NOT_RECOMMENDED not in text and "closer to being confused" in text


def test_advice_says_what_could_not_be_measured() -> None:
    unmeasured = replace(STOCK, identification=None, rank1=None, probes=0, false_accepts=None,
                         false_accept_count=0, strangers=0, closest_pair=float("nan"), gap=float("nan"))
    text = advice(unmeasured, unmeasured)
    assert NOT_RECOMMENDED not in text
    assert "Identification could not be measured" in text and "False accepts could not be measured" in text
    assert "closer to being confused" not in text  # no held-out pair: nothing moved

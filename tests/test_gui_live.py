"""The real window, real networks, a real video as the camera and a real SQLite file.

Enrol a performer from a photo through the enrol dialog, see him named in the live view, check
him in with the button, find the row in the attendance table and in the exported CSV; a stranger
is labelled Unknown and cannot be checked in. Then the live panel's rules on a real SQLite file:
manual check-in only of names confirmed now, automatic check-in only on independent evidence,
and a failed write retried until it is committed.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from faceattend.config import Settings
from faceattend.enrol import enrol_photos
from faceattend.gui.live_panel import AUTO_RETRY_S, LivePanel
from faceattend.gui.quality import judge
from faceattend.live import PENDING, Evidence, TrackedFace
from faceattend.store import Store, StoreError, attendance
from faceattend.types import Detection, Match

from conftest import data_path
from gui_fixtures import answers, clean_recognizer, make_window, shared_video  # noqa: F401  (fixtures)
from recognition_fixtures import recognizer  # noqa: F401  (session fixture: networks built once)

NAME = "Lin-Manuel Miranda"


def test_enrol_from_photo_recognise_check_in_and_export(
    qtbot, make_window, clean_recognizer, tmp_path: Path
) -> None:  # noqa: ANN001
    video = shared_video("short_hamilton_clip.mp4")
    photo = data_path("videos", "hamilton_refs", "lin-manuel-miranda.png")
    window = make_window(recognizer=clean_recognizer, source=str(video))
    qtbot.waitUntil(lambda: window.live.view.labels != [], timeout=60000)
    assert set(window.live.view.labels) == {"Unknown"}, "nobody is enrolled yet"
    assert window.store.path.parent == Path(window.settings.database_path()).parent

    dialog = window.open_enrol_dialog()
    dialog.name_edit.setText(NAME)
    dialog.id_edit.setText("LMM-1")
    dialog.add_photos([photo])  # what "Add photos…" does after its file dialog
    qtbot.waitUntil(lambda: len(dialog.samples) == 1 and not dialog.busy(), timeout=60000)
    assert dialog.thumbs.count() == 1, "the aligned crop is shown before saving"
    assert dialog.samples[0][0].crop.shape == (112, 112, 3)
    dialog.box.button(QDialogButtonBox.StandardButton.Save).click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    person = window.store.find_person(NAME)
    assert person is not None and person.external_id == "LMM-1" and person.sample_count == 1

    # The performer is on screen for about 4 s of every 9 s loop of the clip.
    qtbot.waitUntil(lambda: NAME in window.live.view.labels, timeout=90000)
    window.live.checkin_button.click()
    if not attendance.events(window.store, *attendance.local_day_bounds(date.today())):
        qtbot.waitUntil(lambda: NAME in window.live.view.labels, timeout=60000)  # left between the two lines
        window.live.checkin_button.click()
    assert f"{NAME} checked in at" in window.live.toast.text()

    table = window.attendance.summary
    assert table.rowCount() == 1
    assert table.item(0, 1).text() == NAME and table.item(0, 6).text() == "present"
    assert table.item(0, 4).text() != ""
    path = tmp_path / "attendance.csv"
    assert window.attendance.export_csv(path) == 1
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == NAME and rows[0]["external_id"] == "LMM-1" and rows[0]["status"] == "present"
    assert rows[0]["first_check_in"] == table.item(0, 4).text()
    window.update_status()
    assert "recognition" in window.status_label.text() and "ms" in window.status_label.text()


def test_stranger_is_unknown_and_cannot_be_checked_in(qtbot, make_window, clean_recognizer) -> None:  # noqa: ANN001
    photo = data_path("videos", "hamilton_refs", "lin-manuel-miranda.png")
    window = make_window(recognizer=clean_recognizer, source=str(shared_video("dunai_my_video.mp4")))
    report = enrol_photos(window.store, clean_recognizer, NAME, [photo])
    assert report.added
    window.reload_people()
    qtbot.waitUntil(lambda: "Unknown" in window.live.view.labels, timeout=90000)
    assert NAME not in window.live.view.labels
    window.live.checkin_button.click()
    assert "Nobody recognised" in window.live.toast.text()
    assert attendance.events(window.store, *attendance.local_day_bounds(date.today())) == []
    assert [row.status for row in window.attendance.rows] == ["absent"]


def test_enrol_by_capturing_good_frames_from_the_live_view(
    qtbot, make_window, clean_recognizer
) -> None:  # noqa: ANN001
    settings = Settings(device="cpu", extra={"gui_enrol_samples": "3"})
    window = make_window(recognizer=clean_recognizer, source=str(shared_video("dunai_my_video.mp4")), settings=settings)
    qtbot.waitUntil(lambda: window.live.view.frames_shown > 0, timeout=30000)
    dialog = window.open_enrol_dialog()
    dialog.name_edit.setText("Dunai")
    dialog.capture_button.click()
    qtbot.waitUntil(lambda: len(dialog.samples) == 3, timeout=90000)
    qtbot.waitUntil(lambda: not dialog.capture_button.isChecked(), timeout=5000)  # stops by itself at N
    assert dialog.progress.value() == 3 and dialog.thumbs.count() == 3
    assert all(judge([face]).ok for face, _ in dialog.samples)
    assert dialog.save()
    qtbot.waitUntil(lambda: "Dunai" in window.live.view.labels, timeout=60000)


# -- the live panel's check-in rules, on a real SQLite file --------------------------------------

def confirmed_face(pid: int, name: str, confirmed: bool = True, evidence: int = 3) -> TrackedFace:
    """A face named ``name``; ``evidence`` embeddings 0.3 s apart, clearly ahead of anyone else."""
    detection = Detection((10.0, 10.0, 110.0, 130.0), 0.99,
                          np.array([[38, 52], [74, 52], [56, 72], [42, 92], [71, 92]], np.float32))
    items = tuple(Evidence(0.3 * i, pid, 0.7, 0.4) for i in range(evidence))
    return TrackedFace(1, detection, Match(pid, name, 0.7), 20, confirmed=confirmed, evidence=items)


def panel_with(qtbot, tmp_path: Path, auto: bool) -> tuple[LivePanel, Store, int]:  # noqa: ANN001
    store = Store(tmp_path / "attendance.db", backups=False)
    pid = store.add_person("Ada Lovelace")
    panel = LivePanel(Settings(device="cpu", auto_checkin=auto), lambda: store)
    qtbot.addWidget(panel)
    return panel, store, pid


def todays_events(store: Store) -> list[object]:
    return attendance.events(store, *attendance.local_day_bounds(date.today()))


def test_manual_check_in_acts_only_on_names_confirmed_now(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    panel, store, pid = panel_with(qtbot, tmp_path, auto=False)
    pending = confirmed_face(pid, "Ada Lovelace", confirmed=False)  # e.g. kept on its last box, or not re-embedded
    panel.show_faces([pending])
    assert panel.view.labels == [PENDING] and panel.present.count() == 0
    assert panel.check_in() == [] and "Nobody recognised" in panel.toast.text()
    assert todays_events(store) == []
    panel.show_faces([confirmed_face(pid, "Ada Lovelace")])
    assert panel.view.labels == ["Ada Lovelace"] and panel.present.count() == 1
    assert [e.name for e in panel.check_in()] == ["Ada Lovelace"]


def test_automatic_check_in_retries_a_write_that_failed(qtbot, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    panel, store, pid = panel_with(qtbot, tmp_path, auto=True)
    real, tries = attendance.record, []

    def full_disk_once(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        tries.append(1)
        if len(tries) == 1:
            raise StoreError("cannot record the check-in: the disk is full; free some space and try again")
        return real(*args, **kwargs)

    monkeypatch.setattr(attendance, "record", full_disk_once)
    face = confirmed_face(pid, "Ada Lovelace")
    panel.show_faces([face])
    assert "disk is full" in panel.toast.text() and todays_events(store) == []
    panel.show_faces([face])
    assert len(tries) == 1, "not hammered on every frame: the next try waits a second"
    qtbot.wait(int(AUTO_RETRY_S * 1000) + 100)
    panel.show_faces([face])
    assert len(tries) == 2 and [e.name for e in todays_events(store)] == ["Ada Lovelace"], "retried, and recorded"
    assert "checked in" in panel.toast.text()
    panel.show_faces([face])
    assert len(tries) == 2, "marked as done only now, after the commit"


def test_automatic_check_in_needs_independent_evidence(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    panel, store, pid = panel_with(qtbot, tmp_path, auto=True)
    panel.show_faces([confirmed_face(pid, "Ada Lovelace", evidence=1)])  # one embedding, however steady the track
    panel.show_faces([confirmed_face(pid, "Ada Lovelace", evidence=2)])
    assert todays_events(store) == []
    panel.show_faces([confirmed_face(pid, "Ada Lovelace", evidence=3)])
    assert len(todays_events(store)) == 1

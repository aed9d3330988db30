"""The real window, real networks, a real video as the camera and a real SQLite file.

Enrol a performer from a photo through the enrol dialog, see him named in the live view, check
him in with the button, find the row in the attendance table and in the exported CSV; a stranger
is labelled Unknown and cannot be checked in.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox

from conftest import data_path
from faceattend.config import Settings
from faceattend.enrol import enrol_photos
from faceattend.gui.quality import judge
from faceattend.store import attendance
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

"""The window's widgets with a fake recognizer: no networks, so these run in seconds."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pytest

from faceattend.config import Settings, load_settings
from faceattend.gui.main_window import PICK_ANOTHER
from faceattend.gui.stall import StallMonitor
from faceattend.live import Evidence, TrackedFace
from faceattend.store import CHECK_IN, CHECK_OUT, attendance
from faceattend.types import Match

from gui_fixtures import ListSource, answers, enrol_fake, fake_face, make_window  # noqa: F401  (fixtures)


def seen(pid: int | None, name: str | None, similarity: float = 0.8, stable: int = 1) -> TrackedFace:
    """A face confirmed by its own embedding now, with ``stable`` embeddings 0.3 s apart as evidence."""
    face = fake_face()
    evidence = tuple(Evidence(0.3 * i, pid, similarity, 0.5) for i in range(stable))
    return TrackedFace(1, face.detection, Match(pid, name, similarity), stable, confirmed=True, evidence=evidence)


def test_frames_reach_the_view_and_status_line(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    qtbot.waitUntil(lambda: window.live.view.frames_shown > 5, timeout=5000)
    assert window.live.view.message is None
    window.update_status()
    assert "fps shown" in window.status_label.text() and "CPU" in window.status_label.text()


@pytest.mark.parametrize("raise_at_end", [False, True])
def test_camera_failing_mid_run_shows_message_and_another_can_be_picked(
    qtbot, make_window, raise_at_end
) -> None:  # noqa: ANN001
    failing = ListSource(count=15, raise_at_end=raise_at_end)
    window = make_window(source=failing)
    qtbot.waitUntil(lambda: window.live.view.message is not None and PICK_ANOTHER in window.live.view.message,
                    timeout=5000)
    assert "test camera stopped" in window.live.view.message.lower()
    assert failing.closed, "the source is released by its thread"
    assert window.isVisible()
    assert window.live.check_in() == []
    window.open_source(ListSource())
    qtbot.waitUntil(lambda: window.live.view.message is None, timeout=5000)
    assert window.source_ok


def test_missing_camera_shows_clear_message(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window(source=str(tmp_path / "nothing.mp4"))
    qtbot.waitUntil(lambda: window.live.view.message is not None and PICK_ANOTHER in window.live.view.message,
                    timeout=5000)
    assert "nothing.mp4" in window.live.view.message


def test_check_in_records_known_faces_only_with_cooldown(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    ada = enrol_fake(window, "Ada Lovelace", 1)
    window.live.show_faces([seen(None, None, 0.1)])
    assert window.live.check_in() == []
    assert "Nobody recognised" in window.live.toast.text()
    window.live.show_faces([seen(ada, "Ada Lovelace"), seen(None, None, 0.2)])
    events = window.live.check_in()
    assert [e.name for e in events] == ["Ada Lovelace"]
    assert "Ada Lovelace checked in at" in window.live.toast.text()
    assert "Ada Lovelace" in window.live.log.item(0).text()
    assert window.live.check_in() == [], "the cooldown stops a second check-in"
    assert [e.kind for e in window.live.check_in(CHECK_OUT)] == [CHECK_OUT]
    assert window.attendance.rows[0].status == "left"


def test_automatic_check_in_needs_steady_recognition(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window(settings=Settings(auto_checkin=True, auto_checkin_frames=3))
    ada = enrol_fake(window, "Ada", 1)
    window.live.show_faces([seen(ada, "Ada", stable=2)])
    window.live.show_faces([seen(None, None, 0.3, stable=9)])
    assert attendance.summary(window.store, date.today(), date.today())[0].status == "absent"
    window.live.show_faces([seen(ada, "Ada", stable=3)])
    assert attendance.summary(window.store, date.today(), date.today())[0].status == "present"


def test_people_panel_rename_and_delete_with_confirmation(qtbot, make_window, answers, monkeypatch) -> None:  # noqa: ANN001
    from faceattend.gui import people_panel

    window = make_window()
    ada = enrol_fake(window, "Ada", 1)
    enrol_fake(window, "Grace", 2)
    window.people.select(ada)
    assert window.people.sample_count() == 1
    assert not window.people.rename(ada, "Grace")
    assert "already taken" in answers["informed"][-1]
    assert window.people.rename(ada, "Ada Lovelace")
    assert window.recognizer.gallery.names[ada] == "Ada Lovelace"
    monkeypatch.setattr(people_panel, "choose_removal", lambda _parent, _name: "erase")
    answers["ask_result"].append("no")
    window.people._ask_delete()
    assert window.store.find_person("Ada Lovelace") is not None
    answers["ask_result"].append("yes")
    window.people._ask_delete()
    assert window.store.find_person("Ada Lovelace") is None
    assert "Ada Lovelace" in answers["asked"][-1]
    assert window.recognizer.gallery.people_count == 1


def test_attendance_manual_records_and_csv(qtbot, make_window, tmp_path: Path, answers) -> None:  # noqa: ANN001
    window = make_window()
    ada = enrol_fake(window, "=Ada", 1)
    panel = window.attendance
    assert panel.add_record(ada, CHECK_IN, "") is None, "a reason is required"
    event = panel.add_record(ada, CHECK_IN, "badge reader broken")
    assert event is not None and panel.summary.item(0, 6).text() == "present"
    assert panel.records.item(0, 5).text() == "badge reader broken"
    assert not panel.remove_record(event.id, " ")
    assert panel.remove_record(event.id, "entered by mistake")
    assert panel.summary.item(0, 6).text() == "absent"
    panel.add_record(ada, CHECK_IN, "late bus")
    yesterday = date.today() - timedelta(days=1)
    missed = panel.add_record(ada, CHECK_OUT, "camera was off", datetime.combine(yesterday, time(17, 30)))
    assert missed is not None and missed.time.astimezone().date() == yesterday
    tomorrow = datetime.now() + timedelta(days=1)
    assert panel.add_record(ada, CHECK_IN, "typo", tomorrow) is None, "a future time is refused"
    assert "future" in answers["informed"][-1]
    panel.set_range(yesterday, yesterday)
    assert panel.summary.item(0, 5).text() == "17:30:00" and panel.summary.item(0, 6).text() == "left"
    panel.show_today()
    panel.follow_date(date.today() + timedelta(days=1))  # past midnight: "today" moves on
    assert panel.date_range() == (date.today() + timedelta(days=1),) * 2
    panel.set_range(yesterday, date.today())
    panel.follow_date(date.today() + timedelta(days=2))  # a chosen range stays
    assert panel.date_range() == (yesterday, date.today())
    panel.show_today()
    path = tmp_path / "out.csv"
    assert panel.export_csv(path) == 1
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == "'=Ada" and rows[0]["status"] == "present"


def test_enrol_dialog_refuses_empty_and_taken_names_and_warns_on_look_alike(
    qtbot, make_window, answers
) -> None:  # noqa: ANN001
    window = make_window()
    enrol_fake(window, "Ada", 1)
    dialog = window.open_enrol_dialog()
    assert not dialog.save() and "type the person's name" in dialog.message.text()
    dialog.name_edit.setText("Grace Hopper")
    assert not dialog.save() and "at least one" in dialog.message.text()
    dialog.add_face(fake_face(2), "photo-a.jpg")
    assert dialog.progress.value() == 1
    dialog.name_edit.setText("   ")
    assert not dialog.save() and "type the person's name" in dialog.message.text()
    dialog.name_edit.setText(" ada ")
    assert not dialog.save() and "already taken" in dialog.message.text()
    dialog.add_face(fake_face(1), "photo-b.jpg")
    assert "looks like Ada" in dialog.message.text()
    dialog.name_edit.setText("Grace  Hopper")
    answers["ask_result"].append("no")
    assert not dialog.save() and "Ada" in answers["asked"][-1]
    answers["ask_result"].append("yes")
    assert dialog.save()
    grace = window.store.find_person("Grace Hopper")
    assert grace is not None and grace.sample_count == 2
    assert window.recognizer.gallery.people_count == 2


def test_settings_dialog_saves_per_user_and_applies(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    dialog = window.open_settings()
    dialog.threshold.setValue(0.55)
    dialog.cooldown.setValue(5)
    dialog.auto.setChecked(True)
    dialog.samples.setValue(7)
    dialog.folder.setText(str(tmp_path / "elsewhere"))
    dialog.accept()
    saved = load_settings()
    assert saved.threshold == pytest.approx(0.55) and saved.cooldown_minutes == 5 and saved.auto_checkin
    assert saved.extra["gui_enrol_samples"] == "7"
    qtbot.waitUntil(lambda: window.recognizer.threshold == pytest.approx(0.55))  # between frames, in its thread
    assert window.store.path == tmp_path / "elsewhere" / "faceattend.db"
    assert window.live.auto_box.isChecked()


def test_stall_monitor_sees_a_blocked_gui_thread(qtbot) -> None:  # noqa: ANN001
    import time

    monitor = StallMonitor(interval_ms=10)
    monitor.start()
    qtbot.wait(100)
    time.sleep(0.3)
    qtbot.wait(50)
    assert monitor.longest_ms >= 290
    monitor.stop()


def test_shutdown_stops_threads(qtbot, make_window) -> None:  # noqa: ANN001
    source = ListSource()
    window = make_window(source=source)
    qtbot.waitUntil(lambda: window.live.view.frames_shown > 2, timeout=5000)
    capture, recognition = window.capture, window.recognition
    window.close()
    assert not capture.isRunning() and not recognition.isRunning()
    assert source.closed


def test_video_frames_are_rgb(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    import cv2

    path = tmp_path / "red.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(5):
        writer.write(np.dstack([np.zeros((48, 64), np.uint8)] * 2 + [np.full((48, 64), 255, np.uint8)]))
    writer.release()
    window = make_window(source=str(path))
    qtbot.waitUntil(lambda: window.live.view.current_frame() is not None, timeout=5000)
    frame = window.live.view.current_frame()
    assert frame[..., 0].mean() > 200 and frame[..., 2].mean() < 50, "red stays red (BGR converted once)"


def test_training_wizard_opens_from_the_window_and_closes_with_it(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    wizard = window.open_train_wizard()
    assert wizard is not None and wizard.isVisible()
    window.close()
    assert not wizard.isVisible()

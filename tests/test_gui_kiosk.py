"""Kiosk mode in the real window (pytest-qt, offscreen): with an administrator password set,
every administrative action refuses without it and works after unlocking; removed records
are shown greyed with their reason and a removal can be undone."""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path

import pytest

from faceattend import admin
from faceattend.gui import admin_lock, people_panel
from faceattend.store import CHECK_IN, attendance, audit

from gui_fixtures import answers, enrol_fake, fake_face, make_window  # noqa: F401  (fixtures)

PASSWORD = "staff room 42"


@pytest.fixture(autouse=True)
def typed(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """The password prompt answers ``typed['next']`` (None: cancelled) and records each prompt.

    Autouse: a window left locked is closed by pytest-qt before the fixtures end, and the real
    prompt would wait for a user."""
    log: dict[str, list] = {"prompts": [], "next": [None]}
    monkeypatch.setattr(admin_lock, "ask_password", lambda _p, _t, text: log["prompts"].append(text) or log["next"][-1])
    monkeypatch.setattr(people_panel, "choose_removal", lambda _p, _n: "archive")
    monkeypatch.setattr(people_panel, "choose_folder", lambda _p, _t: "")
    return log


def locked_window(make_window):  # noqa: ANN001, ANN201
    window = make_window()
    ada = enrol_fake(window, "Ada Lovelace", 1)
    event = window.attendance.add_record(ada, CHECK_IN, "badge reader broken")
    window.attendance.remove_record(event.id, "entered twice")
    kept = window.attendance.add_record(ada, CHECK_IN, "late bus")
    admin.set_password(window.store, PASSWORD)
    window.admin.store_changed()
    assert window.admin.is_locked()
    return window, ada, event, kept


def administrative_actions(window, ada: int, removed_id: int, kept_id: int, folder: Path) -> dict:  # noqa: ANN001
    """Each action the kiosk must refuse, as a call returning what it did (falsy: refused)."""
    return {
        "enrol": lambda: window.open_enrol_dialog(),
        "add samples": lambda: window.open_enrol_dialog(ada),
        "rename": lambda: window.people.rename(ada, "Ada King"),
        "details": lambda: window.people.set_details(ada, "S123", "Class 4"),
        "remove samples": lambda: window.people.remove_samples([s.id for s in window.store.samples(ada)][:1]),
        "person export": lambda: window.people.export(ada, folder),
        "add record": lambda: window.attendance.add_record(ada, CHECK_IN, "forgot badge"),
        "remove record": lambda: window.attendance.remove_record(kept_id, "duplicate"),
        "undo removal": lambda: window.attendance.restore_record(removed_id),
        "csv export": lambda: window.attendance.export_csv(folder / "day.csv"),
        "settings": lambda: window.open_settings(),
        "training": lambda: window.open_train_wizard(),
        "archive person": lambda: window.people.delete(ada, "archive"),
    }


def test_every_administrative_action_refuses_while_locked(qtbot, make_window, typed, answers, tmp_path) -> None:  # noqa: ANN001
    window, ada, removed, kept = locked_window(make_window)
    before = (window.store.person(ada), len(window.store.samples(ada)),
              [(e.id, e.removed_reason) for e in attendance.events(window.store, *attendance.local_day_bounds(
                  date.today()), include_removed=True)])
    # kiosk view: only the Live tab, no camera switching, no enrol button
    assert not window.tabs.isTabVisible(window.tabs.indexOf(window.people))
    assert not window.tabs.isTabVisible(window.tabs.indexOf(window.attendance))
    assert not window.camera_bar.isEnabled() and window.live.enrol_button.isHidden()
    assert window.lock_bar.state() == "locked"
    for what_typed in (None, "a wrong guess"):
        typed["next"].append(what_typed)
        for name, action in administrative_actions(window, ada, removed.id, kept.id, tmp_path).items():
            assert not action(), f"{name} went ahead while locked ({what_typed!r} typed)"
    window._camera_chosen("some_video.mp4")
    assert window.settings.camera != "some_video.mp4"
    window.close()
    assert window.isVisible(), "quitting needs the password"
    assert not list(tmp_path.iterdir()), "nothing exported"
    after = (window.store.person(ada), len(window.store.samples(ada)),
             [(e.id, e.removed_reason) for e in attendance.events(window.store, *attendance.local_day_bounds(
                 date.today()), include_removed=True)])
    assert after == before, "nothing changed"
    assert len(typed["prompts"]) >= 2 * 13 and all("administrator password" in p for p in typed["prompts"])
    assert any("Wrong password" in text for text in answers["informed"])
    failed = [e for e in audit.events(window.store, action="login") if e.detail == {"ok": False}]
    assert len(failed) >= 13, "each wrong guess is in the audit trail"


def test_each_action_works_after_unlocking(qtbot, make_window, typed, answers, tmp_path) -> None:  # noqa: ANN001
    window, ada, removed, kept = locked_window(make_window)
    typed["next"].append(PASSWORD)
    assert window.people.rename(ada, "Ada King"), "the password typed at the prompt unlocks"
    assert not window.admin.is_locked() and window.store.actor == "admin"
    assert window.tabs.isTabVisible(window.tabs.indexOf(window.people)) and window.camera_bar.isEnabled()
    typed["next"].append(None)  # no more prompts: unlocked
    assert window.people.set_details(ada, "S123", "Class 4")
    assert window.people.export(ada, tmp_path) is not None
    assert window.attendance.add_record(ada, CHECK_IN, "forgot badge") is not None
    assert window.attendance.remove_record(kept.id, "duplicate")
    assert window.attendance.restore_record(removed.id)
    assert window.attendance.export_csv(tmp_path / "day.csv") == 1
    settings = window.open_settings()
    assert settings is not None
    settings.reject()
    assert window.open_enrol_dialog(ada) is not None
    wizard = window.open_train_wizard()
    assert wizard is not None
    wizard.reject()
    assert window.people.remove_samples([s.id for s in window.store.samples(ada)])
    assert window.people.delete(ada, "archive")
    assert window.store.person(ada).archived
    assert len(typed["prompts"]) == 1
    rename = [e for e in audit.events(window.store, action="rename")][-1]
    assert rename.actor == "admin", "changes made while unlocked are the administrator's"
    window.admin.lock()
    assert window.admin.is_locked() and window.store.actor == "operator"
    typed["next"].append(PASSWORD)
    window.close()
    assert not window.isVisible(), "quits with the password"


def test_relocks_after_idle_minutes(qtbot, make_window, typed) -> None:  # noqa: ANN001
    window, *_ = locked_window(make_window)
    assert window.admin.unlock(PASSWORD) and not window.admin.is_locked()
    window.admin.set_relock_minutes(0.002)  # 0.12 s
    qtbot.waitUntil(window.admin.is_locked, timeout=3000)
    assert not window.tabs.isTabVisible(window.tabs.indexOf(window.people))
    assert [e.action for e in audit.events(window.store)][-1] == "lock"


def test_first_run_offers_a_password_and_says_it_is_unlocked(qtbot, make_window, monkeypatch) -> None:  # noqa: ANN001
    window = make_window()
    assert window.lock_bar.state() == "no-password" and window.lock_bar.isVisible()
    assert "no administrator password" in window.lock_bar.label.text()
    assert window.tabs.isTabVisible(window.tabs.indexOf(window.people)), "without a password: as before"
    monkeypatch.setattr(admin_lock, "ask_new_password", lambda _p, need_current: (None, "short"))
    assert not window.admin.change_password() and not admin.has_password(window.store)
    monkeypatch.setattr(admin_lock, "ask_new_password", lambda _p, need_current: (None, PASSWORD))
    window.lock_bar.action_button.click()
    assert admin.has_password(window.store) and window.lock_bar.state() == "unlocked"
    window.admin.lock()
    assert window.lock_bar.state() == "locked"


def test_dismissing_the_offer_is_remembered(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    window.lock_bar.dismiss_button.click()
    assert window.lock_bar.isHidden()
    window.admin.store_changed()
    assert window.lock_bar.isHidden()


def test_removed_records_are_greyed_with_reason_and_can_be_undone(qtbot, make_window, answers) -> None:  # noqa: ANN001
    window = make_window()
    ada = enrol_fake(window, "Ada Lovelace", 1)
    panel = window.attendance
    event = panel.add_record(ada, CHECK_IN, "badge reader broken")
    assert panel.remove_record(event.id, "entered by mistake")
    assert panel.summary.item(0, 6).text() == "absent"
    assert panel.records.rowCount() == 1, "the removed record stays visible"
    cell = panel.records.item(0, 0)
    assert cell.font().strikeOut() and cell.foreground().color().name() == "#8a8a8a"
    assert panel.records.item(0, 6).text() == "entered by mistake"
    assert "entered by mistake" in cell.toolTip()
    panel.records.selectRow(0)
    assert panel.undo_button.isEnabled() and not panel.remove_button.isEnabled()
    panel._ask_restore()
    assert "entered by mistake" in answers["asked"][-1]
    assert panel.summary.item(0, 6).text() == "present"
    assert not panel.records.item(0, 0).font().strikeOut() and panel.records.item(0, 6).text() == ""
    assert [e.action for e in audit.events(window.store)][-2:] == ["record-remove", "record-restore"]
    panel.show_removed.setChecked(False)
    panel.remove_record(event.id, "again")
    assert panel.records.rowCount() == 0
    assert not panel.restore_record(event.id + 1000)


def test_retention_applies_when_the_window_opens(qtbot, make_window) -> None:  # noqa: ANN001
    from datetime import datetime, timedelta

    from faceattend.config import Settings
    from faceattend.store import Store

    settings = Settings(device="cpu", retention_months=12, retention_drop_crops=True)
    with Store(settings.database_path()) as store:
        pid = store.add_person("Ada Lovelace")
        face = fake_face(1)
        sid = store.add_sample(pid, face.embedding, "fake-model", face.crop, 0.99, "test")
        now = datetime.now(UTC)
        old = attendance.record(store, pid, CHECK_IN, source="manual", note="x", at=now - timedelta(days=400))
        new = attendance.record(store, pid, CHECK_IN, source="manual", note="y", at=now - timedelta(days=10))
    window = make_window(settings=settings)
    kept = attendance.events(window.store, now - timedelta(days=999), now, include_removed=True)
    assert [e.id for e in kept] == [new.id] and old.id != new.id
    assert window.store.sample_crop_or_none(sid) is None
    assert window.recognizer.gallery.people_count == 1, "still recognised from the embedding"
    window.people.select(pid)
    assert window.people.sample_count() == 1, "a grey placeholder instead of the deleted face"
    assert "Retention: deleted 1 attendance record(s)" in window.live.toast.text()

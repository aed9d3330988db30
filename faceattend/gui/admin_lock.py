"""Kiosk mode: with an administrator password set, the window is locked to the live view and
check-in; every administrative action asks for the password first.

Administrative actions: enrolment, the People tab (rename, details, samples, archive/erase,
per-person export), attendance corrections (add, remove, undo a removal) and CSV export,
Settings (and the camera choice, which is a setting), the training wizard, and quitting (so a
person at the kiosk cannot close the app to reach the desktop). Each one calls
``AdminLock.require``; the panels call it too, so an action reached any other way still asks.

Unlocked, the window relocks itself after ``Settings.admin_relock_minutes`` without a key
press or click, and at once with *Admin -> Lock now*. Without a password the app works as
before and says so in the bar at the top, which offers to set one (first run). Changes made
while unlocked are logged as ``admin``, others as ``operator`` (the store's ``actor``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from faceattend import admin
from faceattend.gui import qtutil
from faceattend.store import Store, StoreError

if TYPE_CHECKING:
    from faceattend.gui.main_window import MainWindow

OFFER_DISMISSED_KEY = "admin:offer-dismissed"
USER_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel, QEvent.Type.TouchBegin)


def ask_password(parent: QWidget | None, title: str, text: str) -> str | None:
    """The password, or None when cancelled (tests replace this function)."""
    value, ok = QInputDialog.getText(parent, title, text, QLineEdit.EchoMode.Password)
    return value if ok else None


def ask_new_password(parent: QWidget | None, need_current: bool) -> tuple[str | None, str] | None:
    """(current or None, new) typed twice to match, or None when cancelled (tests replace this)."""
    dialog = NewPasswordDialog(need_current, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return (dialog.current.text() if need_current else None), dialog.new.text()


class NewPasswordDialog(QDialog):
    def __init__(self, need_current: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Administrator password")
        self.current, self.new, self.again = QLineEdit(), QLineEdit(), QLineEdit()
        for edit in (self.current, self.new, self.again):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #a00;")
        form = QFormLayout(self)
        form.addRow(QLabel("With a password set, this window only checks people in until it is unlocked.\n"
                           f"At least {admin.MIN_LENGTH} characters. Forgotten? The owner of the data folder can "
                           "run: faceattend admin reset-password"))
        if need_current:
            form.addRow("Current password:", self.current)
        form.addRow("New password:", self.new)
        form.addRow("Again:", self.again)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        form.addRow(buttons)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)

    def _check(self) -> None:
        if self.new.text() != self.again.text():
            self.problem.setText("The two new passwords differ.")
            return
        try:
            admin.check_new_password(self.new.text())
        except admin.AdminError as error:
            self.problem.setText(str(error)[:1].upper() + str(error)[1:] + ".")
            return
        self.accept()


class AdminLock(QObject):
    """The lock state of one window; ``changed(locked)`` fires whenever it changes."""

    changed = Signal(bool)

    def __init__(self, store: Callable[[], Store], relock_minutes: float, parent: QWidget) -> None:
        super().__init__(parent)
        self._store, self._parent = store, parent
        self._unlocked = False
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self.lock)
        self.set_relock_minutes(relock_minutes)
        self._filtering = False
        self._apply_actor()

    # -- state -----------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        return self._store()

    def has_password(self) -> bool:
        try:
            return admin.has_password(self.store)
        except StoreError:
            return True  # cannot read the database: stay locked rather than open

    def is_locked(self) -> bool:
        return self.has_password() and not self._unlocked

    def set_relock_minutes(self, minutes: float) -> None:
        self._idle.setInterval(max(1, int(minutes * 60_000)))
        if self._unlocked:
            self._idle.start()

    def require(self, what: str) -> bool:
        """True when ``what`` may go ahead: no password set, already unlocked, or the right
        password typed now. Refusals say why; nothing is changed by a refusal."""
        if not self.is_locked():
            self.touch()
            return True
        password = ask_password(self._parent, "Administrator", f"{what} needs the administrator password:")
        if password is None:
            return False
        if self.unlock(password):
            return True
        qtutil.inform(self._parent, "Administrator", f"Wrong password: {what.lower()} was not done.", error=True)
        return False

    def unlock(self, password: str) -> bool:
        try:
            ok = admin.verify(self.store, password)
        except StoreError as error:
            qtutil.inform(self._parent, "Administrator", str(error), error=True)
            return False
        if ok and self.has_password():
            self._unlocked = True
            self._apply_actor()
            self._log("login", {"ok": True})
            self._idle.start()
            self.changed.emit(False)
        return ok

    def lock(self) -> None:
        """Lock now (the menu, the idle timer, or a password just set)."""
        self._idle.stop()
        was_unlocked, self._unlocked = self._unlocked, False
        self._apply_actor()
        if was_unlocked:
            self._log("lock", {})
        self.changed.emit(self.is_locked())

    def store_changed(self) -> None:
        """Another database (data folder changed): its own password, if any, applies."""
        self._unlocked = False
        self._apply_actor()
        self.changed.emit(self.is_locked())

    def touch(self) -> None:
        if self._unlocked:
            self._idle.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if self._unlocked and event.type() in USER_EVENTS:
            self._idle.start()
        return False

    def _watch_input(self, on: bool) -> None:
        """Watch key presses and clicks only while unlocked: a filter on every event of the
        application costs a Python call per event, frames included."""
        app = QApplication.instance()
        if app is None or on == self._filtering:
            return
        if on:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)
        self._filtering = on

    def shutdown(self) -> None:
        self._idle.stop()
        self._watch_input(False)

    def _apply_actor(self) -> None:
        """Called on every change of state: who the store logs as, and whether input is watched."""
        self._watch_input(self._unlocked)
        try:
            self.store.actor = "admin" if self._unlocked else "operator"
        except StoreError:
            pass

    def _log(self, action: str, detail: dict[str, object]) -> None:
        try:
            if self.store.read_only is None:
                self.store.log(action, None, detail)
        except StoreError:
            pass  # a full disk must not keep the administrator out

    # -- setting the password ----------------------------------------------------------------
    def change_password(self) -> bool:
        """Set a first password, or change it (the current one is asked for)."""
        had = self.has_password()
        answer = ask_new_password(self._parent, need_current=had)
        if answer is None:
            return False
        current, new = answer
        try:
            admin.set_password(self.store, new, current)
        except StoreError as error:
            qtutil.inform(self._parent, "Administrator password", str(error), error=True)
            return False
        self._unlocked = True  # whoever just set it is the administrator; relocks when idle
        self._apply_actor()
        self._idle.start()
        self.changed.emit(False)
        return True


class LockBar(QWidget):
    """One line at the top of the window: the lock state and the action that changes it."""

    def __init__(self, lock: AdminLock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lock = lock
        self.label = QLabel()
        self.action_button = QPushButton()
        self.dismiss_button = QPushButton("Not now")
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.label, 1)
        row.addWidget(self.action_button)
        row.addWidget(self.dismiss_button)
        self.action_button.clicked.connect(self._act)
        self.dismiss_button.clicked.connect(self._dismiss)
        lock.changed.connect(lambda _locked: self.refresh())
        self.refresh()

    def state(self) -> str:
        if not self.lock.has_password():
            return "no-password"
        return "locked" if self.lock.is_locked() else "unlocked"

    def refresh(self) -> None:
        state = self.state()
        if state == "no-password":
            self.label.setText("Unlocked: no administrator password is set, so anyone here can change "
                               "or export the data. Set one to lock this window to check-in.")
            self.action_button.setText("Set a password…")
            offered = self._dismissed()
            self.setVisible(not offered)
            self.dismiss_button.setVisible(True)
        elif state == "locked":
            self.label.setText("Locked: check-in only. Other actions need the administrator password.")
            self.action_button.setText("Unlock…")
            self.setVisible(True)
            self.dismiss_button.setVisible(False)
        else:
            self.label.setText("Administrator unlocked: locks again after a few idle minutes.")
            self.action_button.setText("Lock now")
            self.setVisible(True)
            self.dismiss_button.setVisible(False)
        colour = {"no-password": "#fff4d6", "locked": "#e4ecf7", "unlocked": "#fde2e1"}[state]
        self.setStyleSheet(f"LockBar {{ background: {colour}; }}")
        self.setAutoFillBackground(True)

    def _act(self) -> None:
        state = self.state()
        if state == "no-password":
            self.lock.change_password()
        elif state == "locked":
            self.lock.require("Unlocking")
        else:
            self.lock.lock()

    def _dismissed(self) -> bool:
        try:
            return self.lock.store.get_meta(OFFER_DISMISSED_KEY) == "1"
        except StoreError:
            return False

    def _dismiss(self) -> None:
        try:
            self.lock.store.set_meta(OFFER_DISMISSED_KEY, "1")
        except StoreError:
            pass
        self.hide()


# -- wiring into the main window -----------------------------------------------------------
ADMIN_TABS = ("people", "attendance")


def install(window: MainWindow) -> AdminLock:
    """Create the lock for ``window``: the bar, the Admin menu, the panels' guards, the tabs."""
    minutes = float(getattr(window.settings, "admin_relock_minutes", 5.0))
    lock = AdminLock(lambda: window.store, minutes, window)
    window.lock_bar = LockBar(lock, window)
    central = window.centralWidget()
    layout = central.layout() if central is not None else None
    assert isinstance(layout, QBoxLayout)
    layout.insertWidget(0, window.lock_bar)
    window.people.guard = lock.require
    window.attendance.guard = lock.require
    window.people.retire = lambda names: _retire(window, names)
    menu = window.menuBar().addMenu("A&dmin")
    for text, slot in (("&Lock now", lock.lock), ("&Unlock…", lambda: lock.require("Unlocking")),
                       ("&Set or change the password…", lambda: lock.require("Changing the password")
                        and lock.change_password())):
        action = QAction(text, window)
        action.triggered.connect(slot)
        menu.addAction(action)
    lock.changed.connect(lambda locked: _show_locked(window, locked))
    _show_locked(window, lock.is_locked())
    return lock


def _show_locked(window: MainWindow, locked: bool) -> None:
    """Locked: only the Live tab, and no camera switching (a video file would check people in)."""
    for name in ADMIN_TABS:
        index = window.tabs.indexOf(getattr(window, name))
        if index >= 0:
            window.tabs.setTabVisible(index, not locked)
    if locked:
        window.tabs.setCurrentWidget(window.live)
    window.camera_bar.setEnabled(not locked)
    window.live.enrol_button.setVisible(not locked)


def _retire(window: MainWindow, names: list[str]) -> None:
    """After an archive or erasure: retire fine-tuned models trained on that face (they need the
    settings, which the panel does not have), and reload the recogniser if one was in use."""
    try:
        from faceattend.train.versions import retire_models_for

        retired = retire_models_for(window.store, window.settings, names)
    except (ImportError, StoreError, OSError) as error:
        qtutil.inform(window, "Fine-tuned models", f"Models trained on this face could not be retired: {error}",
                      error=True)
        return
    if retired:
        window.reload_recognizer()
        qtutil.inform(window, "Fine-tuned models", f"Retired (trained on this face): {', '.join(retired)}.")


def retention_at_start(window: MainWindow) -> None:
    """Apply the retention setting once when the window opens (it is also a CLI command)."""
    from faceattend import privacy

    months = int(getattr(window.settings, "retention_months", 0))
    drop = bool(getattr(window.settings, "retention_drop_crops", False))
    if (not months and not drop) or window.store.read_only is not None:
        return
    try:
        report = privacy.apply_retention(window.store, months, drop)
    except StoreError as error:
        window.statusBar().showMessage(f"The retention setting could not be applied: {error}")
        return
    if report.records or report.audit_events or report.crops:
        window.live.toast.show_message(f"Retention: {report.describe()}", seconds=10)

"""Starting the app: the Qt application, the icon, the settings, the main window.

Importing this module loads Qt but not numpy, OpenCV or torch (the faceattend modules are
imported inside the functions), so that :func:`main` sets the process environment first.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox

from faceattend.runtime import configure_process

if TYPE_CHECKING:
    from faceattend.config import Settings, SettingsFileError


def share_cpu() -> None:
    """Leave one core to the camera and the window: the networks take the others.

    Without this, torch's worker threads take every core and the GUI thread (and the video
    decoder) queue behind them on a small laptop.
    """
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def app_icon() -> QIcon:
    from faceattend.paths import asset

    icon = QIcon()
    for name in ("faceattend.svg", "faceattend.png"):
        path = asset(name)
        if path.is_file():
            icon.addFile(str(path))
    return icon


def application(argv: Sequence[str] = ()) -> QApplication:
    """The Qt application as the app runs it: name, icon, and the CPU shared with the window."""
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "faceattend", *argv])
    assert isinstance(app, QApplication)
    app.setApplicationName("faceattend")
    app.setOrganizationName("faceattend")
    app.setWindowIcon(app_icon())
    share_cpu()
    return app


def startup_settings() -> Settings | None:
    """The saved settings; when the file cannot be used, the user chooses (None: quit)."""
    from faceattend.config import SettingsFileError, load_settings

    try:
        return load_settings()
    except SettingsFileError as error:
        return ask_about_settings(error)


def settings_box(error: SettingsFileError) -> tuple[QMessageBox, dict[QAbstractButton, Settings]]:
    """The question asked when the settings file cannot be used, and the settings each answer
    gives (Quit, the default button, gives none). The database is never switched unasked."""
    from faceattend.config import Settings, database_problem

    box = QMessageBox(QMessageBox.Icon.Warning, "faceattend: settings", "The settings file cannot be used.")
    reasons = "\n".join(f"• {reason}" for reason in error.reasons)
    kept = f"A copy of it is kept in {error.kept}." if error.kept else "No copy of it could be kept."
    default_db = Settings().database_path()
    answers: dict[QAbstractButton, Settings] = {}
    if error.database_known:
        where = f"The database stays {error.salvaged.database_path()}."
        answers[box.addButton("Reset the settings", QMessageBox.ButtonRole.AcceptRole)] = error.salvaged
    else:
        named = error.named_database
        where = (f"It names the database {named}" if named else "It may name a database") + \
            f"; resetting opens the default database {default_db} instead, which may hold other people."
        if named and not database_problem(named):
            keep = box.addButton(f"Reset, keep {Path(named).name}", QMessageBox.ButtonRole.AcceptRole)
            answers[keep] = dataclasses.replace(error.salvaged, database=named)
        answers[box.addButton("Reset to defaults", QMessageBox.ButtonRole.DestructiveRole)] = error.salvaged
    box.setInformativeText(f"{error.path}:\n{reasons}\n\n{kept} {where}\n\n"
                           "Resetting puts defaults in place of what is listed above; quit to fix the file by hand "
                           "(it is a text file).")
    box.setDefaultButton(box.addButton("Quit", QMessageBox.ButtonRole.RejectRole))
    return box, answers


def ask_about_settings(error: SettingsFileError) -> Settings | None:
    from faceattend.config import SettingsError, save_settings

    box, answers = settings_box(error)
    box.exec()
    clicked = box.clickedButton()
    chosen = answers.get(clicked) if clicked is not None else None
    if chosen is None:
        return None
    try:
        save_settings(chosen)
    except (OSError, SettingsError) as failure:
        QMessageBox.warning(None, "faceattend: settings", f"The settings could not be saved ({failure}); "
                            "they are used until the window is closed.")
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Open the window and run until it is closed; returns the exit status.

    ``argv`` goes to Qt (e.g. ``-platform``); the source is the one in the settings.
    """
    configure_process()  # before application() loads torch and the window loads OpenCV
    argv = list(sys.argv[1:] if argv is None else argv)
    app = application(argv)
    from faceattend.gui.main_window import MainWindow
    from faceattend.store import StoreError

    settings = startup_settings()
    if settings is None:
        return 1
    try:
        window = MainWindow(settings)
    except StoreError as error:
        QMessageBox.critical(None, "faceattend", f"The database cannot be opened:\n{error}")
        return 1
    window.show()
    from faceattend.gui.health import attach

    health = attach(window)  # only when FACEATTEND_HEALTH_LOG is set (bench/soak.py)
    status = int(app.exec())
    del health
    return status

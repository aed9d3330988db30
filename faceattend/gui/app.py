"""Starting the app: the Qt application, the icon, the settings, the main window."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from faceattend.config import load_settings
from faceattend.paths import asset
from faceattend.store import StoreError


def share_cpu() -> None:
    """Leave one core to the camera and the window: the networks take the others.

    Without this, torch's worker threads take every core and the GUI thread (and the video
    decoder) queue behind them on a small laptop.
    """
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def app_icon() -> QIcon:
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


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="faceattend", description="The faceattend window.")
    parser.add_argument("--source", help="camera number, video file or rtsp:// address to open first")
    return parser.parse_known_args(list(argv))[0]


def main(argv: list[str] | None = None) -> int:
    """Open the window and run until it is closed; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    app = application(argv)
    from faceattend.gui.main_window import MainWindow

    settings = load_settings()
    try:
        window = MainWindow(settings, source=args.source)
    except StoreError as error:
        QMessageBox.critical(None, "faceattend", f"The database cannot be opened:\n{error}")
        return 1
    window.show()
    return int(app.exec())

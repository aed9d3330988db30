"""The desktop window (PySide6). The only package of faceattend that imports Qt.

``main()`` starts the app; ``MainWindow`` can be built with an injected recognizer and frame
source, which the tests and the GUI benchmark use. Both are loaded on first use, so that
``main()`` sets the process environment before the window's modules load numpy, OpenCV and torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faceattend.gui.app import main
    from faceattend.gui.main_window import MainWindow

__all__ = ["MainWindow", "main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from faceattend.gui.app import main

        return main
    if name == "MainWindow":
        from faceattend.gui.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

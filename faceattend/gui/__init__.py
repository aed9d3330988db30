"""The desktop window (PySide6). The only package of faceattend that imports Qt.

``main()`` starts the app; ``MainWindow`` can be built with an injected recognizer and frame
source, which the tests and the GUI benchmark use.
"""

from __future__ import annotations

from faceattend.gui.app import main
from faceattend.gui.main_window import MainWindow

__all__ = ["MainWindow", "main"]

"""faceattend: offline face-recognition attendance.

The core (everything outside ``faceattend.gui``) is Qt-free: it turns RGB frames into named
faces and records attendance in SQLite. The GUI and the CLI are thin layers over it.
Importing it changes nothing process-wide: the entry points set the environment the app runs
with (:func:`faceattend.runtime.configure_process`).
"""

__version__ = "0.1.0"

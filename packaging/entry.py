"""Entry point of the frozen app: PyInstaller runs this file as ``__main__``.

It lives outside the ``faceattend`` package so that the build analyses the *installed* package
(``pip install .`` in the build venv), not the source tree next to it.
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless unless a child process is spawned (Windows)
    if sys.platform == "win32":
        # Without this, MSMF cameras take tens of seconds to open; it must be set before cv2 loads.
        os.environ.setdefault("OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS", "0")
    if "--smoke-test" in sys.argv[1:]:
        # Also hooked into faceattend.cli; handled here too so that the bundle's own check never
        # depends on how the command line parses its options.
        from faceattend.smoke import run_smoke_test

        sys.exit(run_smoke_test())
    from faceattend.cli import main

    sys.exit(main())

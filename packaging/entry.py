"""Entry point of the frozen app: PyInstaller runs this file as ``__main__``.

It lives outside the ``faceattend`` package so that the build analyses the *installed* package
(``pip install .`` in the build venv), not the source tree next to it.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless unless a child process is spawned (Windows)
    from faceattend.runtime import configure_process

    configure_process()  # thread waits, BLAS threads, Windows camera start-up: before numpy/cv2/torch load
    if "--smoke-test" in sys.argv[1:]:
        # Also hooked into faceattend.cli; handled here too so that the bundle's own check never
        # depends on how the command line parses its options.
        from faceattend.smoke import run_smoke_test

        sys.exit(run_smoke_test())
    from faceattend.cli import main

    sys.exit(main())

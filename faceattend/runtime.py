"""Process-wide settings, applied once by each entry point before torch, numpy and OpenCV load.

Importing ``faceattend`` (or any of its modules) changes nothing in the process: a program that
uses the package as a library keeps its own environment. The entry points (the ``faceattend``
command, ``python -m faceattend``, the frozen app, the test run) call :func:`configure_process`
first. This module imports nothing heavy, so calling :func:`main` sets the variables before the
command line's imports load the native libraries, which read them once, at load.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def process_environment(platform: str = sys.platform) -> dict[str, str]:
    """The variables the app runs with (a value already in the environment wins).

    - ``OMP_WAIT_POLICY=PASSIVE``: on a busy laptop, OpenMP threads that spin-wait for work made
      detection 15x slower in bench/run.sh; passive waiting gives the cores back.
    - ``OPENBLAS_NUM_THREADS=1``: matching is a small matrix product per frame; one BLAS thread is
      faster than waking two.
    - Windows only, ``OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS=0``: Media Foundation otherwise takes
      tens of seconds to open some webcams.
    """
    env = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1"}
    if platform == "win32":
        env["OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS"] = "0"
    return env


def configure_process() -> None:
    """Set :func:`process_environment` where the user has not; call before torch/numpy/cv2 load."""
    for name, value in process_environment().items():
        os.environ.setdefault(name, value)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``faceattend`` command: configure the process, then run the command line."""
    configure_process()
    from faceattend.cli import main as cli_main  # loads numpy and OpenCV: after the variables

    return cli_main(argv)

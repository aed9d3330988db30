"""faceattend: offline face-recognition attendance.

The core (everything outside ``faceattend.gui``) is Qt-free: it turns RGB frames into named
faces and records attendance in SQLite. The GUI and the CLI are thin layers over it.
"""

import os as _os

# Set before torch and numpy load their thread pools (they read these once). On a busy laptop,
# OpenMP threads that spin-wait for work made detection 15x slower in bench/run.sh; passive
# waiting gives the cores back. Matching is a small matrix product per frame: one BLAS thread
# is faster than waking two. A user's own setting always wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

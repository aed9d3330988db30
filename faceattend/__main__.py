"""``python -m faceattend``: the same entry point as the ``faceattend`` command."""

import sys

from faceattend.runtime import main

sys.exit(main())

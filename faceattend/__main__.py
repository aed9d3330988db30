import sys

from faceattend.cli import main

sys.exit(main())

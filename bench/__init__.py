"""Speed benchmark of faceattend against peer face-recognition libraries (see bench/README.md)."""

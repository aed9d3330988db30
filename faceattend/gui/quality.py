"""Is a captured face good enough to enrol? The rules live in the Qt-free core
(:mod:`faceattend.quality`), shared with photos and the command line; re-exported here for the
window's capture code."""

from __future__ import annotations

from faceattend.quality import (  # noqa: F401  (re-exported)
    MAX_ROLL,
    MAX_YAW,
    MIN_ENROL_FACE,
    MIN_SHARPNESS,
    Verdict,
    assess,
    judge,
    sharpness,
    yaw_and_roll,
)

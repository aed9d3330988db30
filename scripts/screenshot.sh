#!/usr/bin/env bash
# Makes docs/screenshot.png: the real window recognising a performer in the shared sample video.
# Uses Xvfb when there is no display (Debian: apt-get install xvfb xauth libxkbcommon-x11-0
# libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0).
#   bash scripts/screenshot.sh [OUTPUT.png [--tabs]]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
OUT="${1:-docs/screenshot.png}"
shift || true
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    if ! command -v xvfb-run >/dev/null; then
        echo "no display and no xvfb-run; install xvfb (see the comment at the top)" >&2
        exit 2
    fi
    exec xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb "$PY" -m faceattend.gui.screenshot "$OUT" "$@"
fi
exec "$PY" -m faceattend.gui.screenshot "$OUT" "$@"

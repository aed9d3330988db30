#!/usr/bin/env bash
# Speed benchmark of faceattend against peer libraries, on the same frames, interleaved.
#
#   bash bench/run.sh [--quick] [--only detect|embed|e2e|scaling|live] [--json PATH] [--threads N]
#
# Creates/updates its own venv .bench-venv/ at the repo root (never touches .venv/), then runs
# bench/speed.py. The install is skipped when bench/requirements.txt, this script and
# pyproject.toml are unchanged since the last successful one. See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
PY="${BENCH_PYTHON:-python3.11}"
STAMP="$VENV/.bench-installed"

want_stamp() {
    cat "$ROOT/bench/requirements.txt" "$ROOT/bench/run.sh" "$ROOT/pyproject.toml" 2>/dev/null \
        | sha256sum | cut -d' ' -f1
}

pipq() {  # quiet pip; drops the harmless notes about this machine's empty local indexes
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

install_env() {
    local t0=$SECONDS
    command -v "$PY" >/dev/null || { echo "bench: $PY not found (set BENCH_PYTHON)" >&2; exit 1; }
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    echo "bench: installing the benchmark environment into $VENV ..."
    # torch first and pinned: this machine's pip finds the local CPU wheel (find-links).
    # An unpinned torch would pull GBs of CUDA wheels. Elsewhere, if it does, use instead:
    #   pipq torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    "$VENV/bin/python" -c 'import sys, torch; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' \
        2>/dev/null || pipq torch==2.13.0
    pipq -r "$ROOT/bench/requirements.txt"
    # facenet-pytorch pins torch<2.3 and needs torchvision (no CPU build here): no deps, and
    # bench/shim/torchvision supplies the one op it uses.
    pipq --no-deps facenet-pytorch==2.6.0
    pipq -e "$ROOT"
    want_stamp > "$STAMP"
    echo "bench: environment ready in $((SECONDS - t0)) s"
}

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(want_stamp)" ]; then
    install_env
fi

cd "$ROOT"
# TensorFlow prints absl/oneDNN start-up notes on stderr whatever its log level; drop just those.
exec "$VENV/bin/python" -m bench.speed "$@" \
    2> >(grep --line-buffered -v -E '^(WARNING: All log messages before absl|I0000 )' >&2)

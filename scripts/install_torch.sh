#!/usr/bin/env bash
# Install the CPU build of torch into a venv, never the multi-GB CUDA build by accident.
#   bash scripts/install_torch.sh VENV_PYTHON [TORCH_SPEC...]
# TORCH_SPEC defaults to torch==2.13.0 (the version pinned in constraints.txt). On Linux, PyPI's
# torch wheels are CUDA builds that pull about 3.7 GB of NVIDIA packages; the CPU build comes
# from a local wheel (this project's machines have one for Python 3.11) or from PyTorch's CPU
# index. So: resolve first without installing; if the answer would bring NVIDIA packages, try the
# CPU index; if that cannot be reached either, stop and say what to do. A CUDA build is installed
# only when asked for: TORCH_CUDA=1 (the app then uses the GPU when torch.cuda.is_available()).
set -euo pipefail
py=$1
shift
spec=("$@")
[ ${#spec[@]} -gt 0 ] || spec=("torch==2.13.0")
cpu_index=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
here=$(cd "$(dirname "$0")/.." && pwd)

brings_cuda() {  # does installing these arguments bring NVIDIA/CUDA packages? (resolves only)
  local report
  report=$(mktemp)
  if ! "$py" -m pip install --quiet --dry-run --ignore-installed --report "$report" "$@" >/dev/null 2>&1; then
    rm -f "$report"
    return 2
  fi
  "$py" - "$report" <<'EOF'
import json, sys
names = [item["metadata"]["name"].lower() for item in json.load(open(sys.argv[1]))["install"]]
cuda = any(n.startswith(("nvidia-", "cuda-", "triton")) for n in names)
sys.exit(1 if cuda else 0)
EOF
  local status=$?
  rm -f "$report"
  [ $status -eq 1 ]
}

if [ "${TORCH_CUDA:-0}" = 1 ] || [ "$(uname -s)" != Linux ]; then
  # Windows and macOS wheels on PyPI are CPU builds; TORCH_CUDA=1 asks for CUDA on purpose.
  exec "$py" -m pip install --quiet -c "$here/constraints.txt" "${spec[@]}"
fi
if brings_cuda "${spec[@]}"; then
  echo "torch: this Python ($("$py" -V 2>&1)) has no local CPU wheel; trying PyTorch's CPU index ($cpu_index)"
  if "$py" -m pip install --quiet "${spec[@]}" --index-url "$cpu_index"; then
    exit 0
  fi
  cat >&2 <<EOF

Stopped: installing ${spec[*]} here would download the CUDA build of torch and about 3.7 GB of
NVIDIA packages, and PyTorch's CPU index could not be reached. Either
  - use Python 3.11 where the CPU wheel is at hand (make setup PYTHON=python3.11), or
  - point TORCH_CPU_INDEX at a mirror of PyTorch's CPU index, or
  - ask for the CUDA build on purpose: make setup TORCH_CUDA=1
EOF
  exit 1
fi
exec "$py" -m pip install --quiet -c "$here/constraints.txt" "${spec[@]}"

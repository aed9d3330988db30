"""The live loop's three requirements, measured in one run (app venv, CPU):

(a) cost: average recognition time per frame of ``faceattend.live.LiveRecognizer`` (tracking)
    against full detect+recognise on every frame and OpenCV YuNet+SFace end to end (detect,
    alignCrop, feature, match), all matching against a 1,000-person gallery, interleaved frame
    by frame (the order rotates) on every frame of the videos, letterboxed to 640x480. The
    tracker's clock is the video's (frame i at i/30 s: at 30 fps every frame is processed when
    the loop keeps up), so its time-based full detections do not depend on the bench's pace.
(b) time to name: a simulated 30 fps camera (frames released every 33.3 ms by the wall clock)
    feeds the app's own scheme (``FrameSlot``: the recognition thread takes the newest frame,
    stale ones are dropped). Each trial starts the stream 0.4-0.8 s before a cut frame with 1-3
    faces in view; before the cut some of those faces (one of several: "joins", or all: "enters
    an empty view") are painted over, so they appear at the cut while the loop is in its steady
    state. Time to name = from the cut frame's release to the end of the first processing whose
    result holds the face (a new track covering it; for YuNet+SFace, a matched box covering it).
(c) display: the real main window offscreen on the 30 fps clip, as bench/gui_stall.py runs it.

    bash bench/run.sh --only live [--quick]      (the suite's command: bench venv, figures in its --json)
    .venv/bin/python bench/live.py [--quick] [--json FILE] [--threads N] [--trials N] [--gui-seconds S]
    [--config detect_every=2,detect_interval=0.066 ...]  extra tracker settings, timed alongside

Prints a compact table, then the JSON (also written to --json FILE).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.speed import machine, set_threads  # noqa: E402  (sets thread env vars before torch loads)

CAMERA_FPS = 30.0
TARGET = {"display_fps": 25.0, "time_to_name_median_ms": 150.0}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer frames, trials and GUI seconds (about 1-2 min)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                   help="torch and OpenCV threads, the same for all (default: cores - 1, as the app)")
    p.add_argument("--trials", type=int, help="time-to-name trials (default 36, quick 9)")
    p.add_argument("--gui-seconds", type=float, help="seconds of the real window (default 30, quick 8; 0: skip)")
    p.add_argument("--config", action="append", default=[], metavar="K=V,...",
                   help="another LiveRecognizer setting to time alongside the default (repeatable)")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- frames


@dataclass
class Video:
    name: str
    frames: list[Any]  # bench.frames.Frame
    truth: dict[int, list[tuple[float, float, float, float]]] = field(default_factory=dict)  # full-detect boxes


def load_videos(root: Path, limit: int | None) -> list[Video]:
    import cv2

    from bench.frames import Frame, letterbox

    videos = []
    for path in sorted((root / "videos").glob("*.mp4")):
        capture, frames = cv2.VideoCapture(str(path)), []
        while limit is None or len(frames) < limit:
            ok, bgr = capture.read()
            if not ok:
                break
            bgr = letterbox(bgr, 640, 480)
            frames.append(Frame(rgb=bgr[:, :, ::-1].copy(), bgr=bgr, label=f"{path.stem}#{len(frames)}"))
        capture.release()
        videos.append(Video(path.stem, frames))
    return videos


class VideoClock:
    """The tracker's clock in (a): the capture time of the frame being processed."""

    now = 0.0

    def __call__(self) -> float:
        return self.now


def tracker_settings(spec: str) -> dict[str, float]:
    out = {}
    for part in filter(None, spec.split(",")):
        key, value = part.split("=")
        out[key.strip()] = float(value) if "." in value or key.strip() == "detect_interval" else int(value)
    return out


# ----------------------------------------------------------------------------- the peer


def make_peer(cache: Path) -> Any:
    """OpenCV YuNet + SFace as its own samples use it: every face YuNet finds is recognised.

    (bench/pipelines.py's YuNetSFace also drops boxes under 40 px, to match MTCNN's minimum
    face size in the detector tables; YuNet's boxes are larger than MTCNN's for the same face,
    so that filter would skip most faces of facenet_pytorch_video.mp4 and with them their
    SFace cost, while faceattend recognises them.)
    """
    import numpy as np

    from bench import peers, pipelines

    class YuNetSFaceAll(pipelines.YuNetSFace):
        def faces(self, frame: Any) -> list[tuple[tuple[float, ...], Any]]:
            rows = peers.yunet_rows(self.yunet, frame.bgr)
            feats = [self.rec.feature(self.rec.alignCrop(frame.bgr, row)) for row in rows]
            matches = self.gallery.match(peers.unit(np.concatenate(feats))) if feats else []
            return [((r[0], r[1], r[0] + r[2], r[1] + r[3]), m) for r, m in zip(rows, matches, strict=True)]

        def embeddings(self, frame: Any) -> np.ndarray:
            rows = peers.yunet_rows(self.yunet, frame.bgr)
            feats = [self.rec.feature(self.rec.alignCrop(frame.bgr, row)) for row in rows]
            return peers.unit(np.concatenate(feats)) if feats else np.zeros((0, 128), np.float32)

        def run(self, frame: Any) -> int:
            return len(self.faces(frame))

    return YuNetSFaceAll(cache)


# ----------------------------------------------------------------------------- (a) cost


def cost(videos: list[Video], ours: Any, peer: Any, configs: dict[str, dict[str, float]]) -> dict[str, Any]:
    from faceattend.live import LiveRecognizer

    clock = VideoClock()
    times: dict[str, list[float]] = {name: [] for name in [*configs, "full", "yunet+sface"]}
    faces: dict[str, list[int]] = {name: [] for name in times}
    stats = {name: {"full_detections": 0, "embedded": 0, "frames": 0, "agree": 0, "compared": 0} for name in configs}
    for frame in videos[0].frames[:3]:  # warm-up, untimed
        ours.run(frame), peer.run(frame)
    for video in videos:
        trackers = {name: LiveRecognizer(ours.recognizer, clock=clock, **cfg) for name, cfg in configs.items()}
        for i, frame in enumerate(video.frames):
            clock.now = i / CAMERA_FPS
            runs: list[tuple[str, Callable[[], Any]]] = [
                (n, lambda t=t, frame=frame: t.process(frame.rgb)) for n, t in trackers.items()]
            runs += [("full", lambda frame=frame: ours.recognizer.faces(frame.rgb)),
                     ("yunet+sface", lambda frame=frame: peer.run(frame))]
            shift = i % len(runs)
            outputs, fulls = {}, {n: t.full_detections for n, t in trackers.items()}
            for name, run in runs[shift:] + runs[:shift]:
                start = time.perf_counter()
                outputs[name] = run()
                times[name].append(time.perf_counter() - start)
            video.truth[i] = [f.detection.box for f in outputs["full"]]
            for name, out in outputs.items():
                faces[name].append(out if isinstance(out, int) else len(out))
            for name in configs:
                _tally(stats[name], outputs[name], outputs["full"], trackers[name].full_detections > fulls[name])
    result: dict[str, Any] = {}
    peer_mean = float(sum(times["yunet+sface"]) / len(times["yunet+sface"]))
    for name, values in times.items():
        ms = [v * 1e3 for v in values]
        row = {"frames": len(ms), "mean_ms": sum(ms) / len(ms), "median_ms": _pct(ms, 50), "p90_ms": _pct(ms, 90),
               "faces_per_frame": sum(faces[name]) / len(faces[name]),
               "ratio_mean_ours_over_yunet_sface": (sum(ms) / len(ms)) / (peer_mean * 1e3)}
        if name in stats:
            s = stats[name]
            row |= {"settings": configs[name], "full_detection_share": s["full_detections"] / s["frames"],
                    "embeddings_per_frame": s["embedded"] / s["frames"],
                    "same_name_as_full_pipeline": s["agree"] / max(1, s["compared"])}
        result[name] = row
    return result


def _tally(stats: dict[str, int], tracked: list[Any], full: list[Any], was_full: bool) -> None:
    from faceattend.live import box_iou

    stats["frames"] += 1
    stats["full_detections"] += was_full
    stats["embedded"] += sum(t.frames_since_recognised == 0 for t in tracked)
    for face in full:  # does tracking give each face the full pipeline's answer?
        stats["compared"] += 1
        best = max(tracked, key=lambda t: box_iou(t.detection.box, face.detection.box), default=None)
        if best is not None and box_iou(best.detection.box, face.detection.box) >= 0.3:
            stats["agree"] += best.match.person_id == face.match.person_id


def _pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else math.nan


# ----------------------------------------------------------------------------- (b) time to name


@dataclass
class Trial:
    video: Video
    cut: int  # first frame where the hidden faces show
    lead: int  # frames streamed before the cut
    hidden: list[int]  # indices into video.truth[cut]
    kind: str  # "joins" (one of several) or "enters" (into an empty view)


def pick_trials(videos: list[Video], count: int, rng: Any) -> list[Trial]:
    trials: list[Trial] = []
    per_video = math.ceil(count / len(videos))
    for video in videos:
        n = len(video.frames)
        ok = [k for k in range(24, n - 30) if 1 <= len(video.truth.get(k, [])) <= 3]
        for j, k in enumerate(sorted(rng.choice(ok, min(per_video, len(ok)), replace=False).tolist()) if ok else []):
            boxes = video.truth[k]
            joins = len(boxes) >= 2 and j % 2 == 0
            hidden = [int(rng.integers(len(boxes)))] if joins else list(range(len(boxes)))
            trials.append(Trial(video, k, int(rng.integers(12, 25)), hidden, "joins" if joins else "enters"))
    return trials[:count]


def _follow(video: Video, box: tuple[float, ...], frames: range) -> dict[int, tuple[float, ...]]:
    """The face's box in each of ``frames`` (in order away from the cut), chained by overlap."""
    from faceattend.live import box_iou

    out = {}
    for i in frames:
        best = max(video.truth.get(i, []), key=lambda b: box_iou(b, box), default=None)
        if best is not None and box_iou(best, box) >= 0.3:
            box = best
        out[i] = box
    return out


def _painted(frame: Any, boxes: list[tuple[float, ...]]) -> Any:
    """The frame with each box (widened by 35%) filled with its mean colour: nobody there."""
    from bench.frames import Frame

    rgb = frame.rgb.copy()
    h, w = rgb.shape[:2]
    for x1, y1, x2, y2 in boxes:
        mx, my = 0.35 * (x2 - x1), 0.35 * (y2 - y1)
        a, b = max(0, int(x1 - mx)), min(w, int(x2 + mx) + 1)
        c, d = max(0, int(y1 - my)), min(h, int(y2 + my) + 1)
        if b > a and d > c:
            rgb[c:d, a:b] = rgb[c:d, a:b].reshape(-1, 3).mean(0).astype(rgb.dtype)
    return Frame(rgb=rgb, bgr=rgb[:, :, ::-1].copy(), label=frame.label + "(painted)")


def trial_stream(trial: Trial, tail: int = 30) -> tuple[list[Any], list[dict[int, tuple[float, ...]]]]:
    """The frames to stream and, per hidden face, its box at each frame index from the cut on."""
    v, k = trial.video, trial.cut
    boxes = [v.truth[k][h] for h in trial.hidden]
    before = [_follow(v, b, range(k - 1, k - trial.lead - 1, -1)) for b in boxes]
    after = [_follow(v, b, range(k, min(len(v.frames), k + tail))) for b in boxes]
    frames = [_painted(v.frames[i], [b[i] for b in before]) for i in range(k - trial.lead, k)]
    return frames + v.frames[k : k + tail], after


def run_trial(trial: Trial, process: Callable[[Any], list[tuple[tuple[float, ...], Any]]],
              new_label: bool) -> dict[str, Any]:
    """Stream at 30 fps through the app's FrameSlot; how long until each hidden face is named.

    ``process(frame)`` returns (box, key) per face; with ``new_label`` a face counts only under
    a key (track id) first seen at or after the cut.
    """
    from faceattend.frames import FrameSlot
    from faceattend.live import box_iou

    frames, targets = trial_stream(trial)
    slot, stop = FrameSlot(), threading.Event()
    released: list[float] = [math.nan] * len(frames)
    named: list[float | None] = [None] * len(targets)
    seen_before: set[Any] = set()
    invalid, first = False, True

    def camera() -> None:
        start = time.perf_counter()
        for i, frame in enumerate(frames):
            delay = start + i / CAMERA_FPS - time.perf_counter()
            if delay > 0 and stop.wait(delay):
                break
            released[i] = time.perf_counter()
            slot.put(frame)  # seq == i + 1
        time.sleep(0.3)
        slot.close()

    feeder = threading.Thread(target=camera, daemon=True)
    feeder.start()
    seq = 0
    while True:
        got = slot.wait_newer(seq, 0.5)
        if got is None:
            break
        seq, frame = got
        index = seq - 1
        found = process(frame)
        done = time.perf_counter()
        video_index = trial.cut + index - trial.lead
        if index < trial.lead:
            seen_before.update(key for _, key in found)
            continue
        for t, boxes in enumerate(targets):
            box = boxes.get(video_index)
            if named[t] is None and box is not None:
                hit = [key for b, key in found if box_iou(b, box) >= 0.3]
                if any(not new_label or key not in seen_before for key in hit):
                    named[t] = (done - released[trial.lead]) * 1e3
                elif hit and first:
                    invalid = True  # the painted face was tracked already: the paint failed
        first = False
        if all(n is not None for n in named):
            break
    stop.set()
    slot.close()
    feeder.join()
    return {"video": trial.video.name, "cut": trial.cut, "kind": trial.kind,
            "faces_in_view": len(trial.video.truth[trial.cut]),
            "ms": named, "invalid": invalid}


def time_to_name(videos: list[Video], ours: Any, peer: Any, count: int) -> dict[str, Any]:
    import numpy as np

    from faceattend.live import LiveRecognizer

    rng = np.random.default_rng(0)
    trials = pick_trials(videos, count, rng)

    def peer_faces(frame: Any) -> list[tuple[tuple[float, ...], Any]]:
        return [(box, None) for box, _ in peer.faces(frame)]

    records: dict[str, list[dict[str, Any]]] = {"tracking": [], "yunet+sface": []}
    for j, trial in enumerate(trials):
        live = LiveRecognizer(ours.recognizer)

        def tracked(frame: Any, live: LiveRecognizer = live) -> list[tuple[tuple[float, ...], Any]]:
            return [(t.detection.box, t.track_id) for t in live.process(frame.rgb)]

        order = [("tracking", tracked, True), ("yunet+sface", peer_faces, False)]
        for name, process, new_label in order if j % 2 == 0 else order[::-1]:
            records[name].append(run_trial(trial, process, new_label))
    out: dict[str, Any] = {}
    for name, recs in records.items():
        valid = [r for r in recs if not r["invalid"]]
        ms = [m for r in valid for m in r["ms"] if m is not None]
        missed = sum(m is None for r in valid for m in r["ms"])
        by_kind = {kind: _pct([m for r in valid if r["kind"] == kind for m in r["ms"] if m is not None], 50)
                   for kind in ("joins", "enters")}
        out[name] = {"faces": len(ms) + missed, "named": len(ms), "missed_within_1s": missed,
                     "invalid_trials": len(recs) - len(valid), "median_ms": _pct(ms, 50), "p90_ms": _pct(ms, 90),
                     "median_ms_by_kind": by_kind, "trials": recs}
    return out


# ----------------------------------------------------------------------------- (c) display


def display(video: Path, photo: Path, seconds: float) -> dict[str, Any]:
    from bench import gui_stall

    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    saved = os.environ.get("FACEATTEND_DATA_DIR")
    with tempfile.TemporaryDirectory(prefix="faceattend-bench-live-") as tmp:
        os.environ["FACEATTEND_DATA_DIR"] = tmp
        try:
            args = argparse.Namespace(video=str(video), enrol=str(photo), seconds=seconds, device="cpu", json=True)
            result = gui_stall.run(args)
        finally:
            if saved is None:
                os.environ.pop("FACEATTEND_DATA_DIR", None)
            else:
                os.environ["FACEATTEND_DATA_DIR"] = saved
    return {"video": video.name, **result}


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    set_threads(args.threads)
    import numpy as np

    from bench import pipelines
    from bench.frames import data_root
    from faceattend.paths import cache_dir

    root = data_root()
    if not list((root / "videos").glob("*.mp4")):
        print(f"SKIPPED: no videos under {root / 'videos'} (set FACEATTEND_TEST_DATA)")
        return 0
    started = time.perf_counter()
    load0 = os.getloadavg()
    videos = load_videos(root, 80 if args.quick else None)
    print(f"{sum(len(v.frames) for v in videos)} frames from {', '.join(v.name for v in videos)} (640x480); "
          f"{args.threads} thread(s); load average {load0[0]:.1f} on {os.cpu_count()} cores")
    ours, peer = pipelines.Ours(), make_peer(cache_dir() / "bench")
    rng = np.random.default_rng(0)
    enrol_frames = [v.frames[i] for v in videos for i in np.linspace(0, len(v.frames) - 1, 4, dtype=int)]
    for p in (ours, peer):  # untimed: the people in the videos + random others, 1,000 in all
        p.enrol(enrol_frames, 1000, rng)
    configs = {"tracking": {}} | {f"tracking[{c}]": tracker_settings(c) for c in args.config}
    report: dict[str, Any] = {"machine": machine(args.threads), "load_average_start": load0}
    report["cost_per_frame"] = cost(videos, ours, peer, configs)
    report["time_to_name"] = time_to_name(videos, ours, peer, args.trials or (9 if args.quick else 36))
    seconds = args.gui_seconds if args.gui_seconds is not None else (8.0 if args.quick else 30.0)
    if seconds > 0:
        report["display"] = display(root / "videos" / "short_hamilton_clip.mp4",
                                    root / "videos" / "hamilton_refs" / "lin-manuel-miranda.png", seconds)
    report["load_average_end"] = os.getloadavg()
    report["seconds"] = time.perf_counter() - started
    report["verdict"] = verdict(report)
    print_tables(report)
    text = json.dumps(report, indent=1, default=float)
    if args.json:
        args.json.write_text(text)
    print(text if not args.json else f"JSON written to {args.json}")
    return 0


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    c, t = report["cost_per_frame"], report["time_to_name"]["tracking"]
    out = {"cost_below_yunet_sface": c["tracking"]["ratio_mean_ours_over_yunet_sface"] < 1.0,
           "time_to_name_median_under_150ms": t["median_ms"] < TARGET["time_to_name_median_ms"]}
    if "display" in report:
        out["display_at_least_25fps"] = report["display"]["display_fps"] >= TARGET["display_fps"]
    return out


def print_tables(r: dict[str, Any]) -> None:
    from bench.timing import table

    rows = [[name, v["frames"], v["mean_ms"], v["median_ms"], v["p90_ms"], v["faces_per_frame"],
             v.get("full_detection_share", math.nan), v.get("embeddings_per_frame", math.nan),
             v["ratio_mean_ours_over_yunet_sface"]] for name, v in r["cost_per_frame"].items()]
    print(table(["(a) cost per frame", "frames", "mean ms", "median ms", "p90 ms", "faces", "full det", "embeds",
                 "mean ratio"], rows,
                "\n(a) recognition cost per 640x480 frame, interleaved (ratio: ours / YuNet+SFace)"))
    rows = [[name, v["faces"], v["median_ms"], v["p90_ms"], v["median_ms_by_kind"]["joins"],
             v["median_ms_by_kind"]["enters"], v["missed_within_1s"], v["invalid_trials"]]
            for name, v in r["time_to_name"].items()]
    print(table(["(b) time to name", "faces", "median ms", "p90 ms", "joins", "enters", "missed", "invalid"], rows,
                "\n(b) time from a face's first frame to its name, 30 fps camera, newest frame only"))
    if "display" in r:
        d = r["display"]
        print(f"\n(c) real window, {d['seconds']:.0f} s of {d['video']}: {d['display_fps']:.1f} fps shown "
              f"(capture {d['capture_fps']:.1f}), longest GUI stall {d['longest_stall_ms']:.0f} ms, "
              f"recognition {d['latency_ms_mean']:.0f} ms mean / {d['latency_ms_p95']:.0f} ms p95, "
              f"{d['recognition_fps']:.1f} frames/s recognised")
    print(f"\nverdict: {r['verdict']}   (load average {r['load_average_start'][0]:.1f} -> "
          f"{r['load_average_end'][0]:.1f}; {r['seconds']:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())

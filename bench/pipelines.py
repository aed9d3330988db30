"""End-to-end contenders: frame in, every face named (or Unknown) out.

Each pipeline does what an attendance loop does per frame: detect, align, embed all faces, and
match them against an enrolled gallery. Cosine pipelines match with faceattend's own
:class:`faceattend.match.Gallery` (its cost is the same for all and tiny next to the networks);
the dlib pipeline matches the way face_recognition does (Euclidean distance, tolerance 0.6).
Galleries are built untimed by :meth:`Pipeline.enrol`: real embeddings of faces the pipeline
itself found in a few frames, topped up with random unit vectors to ``people`` persons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench import peers
from bench.frames import Frame
from faceattend.match import Gallery


class Pipeline:
    """Base: subclasses set ``name``/``note`` and implement :meth:`embeddings`."""

    name = ""
    note = ""

    def __init__(self) -> None:
        self.gallery = Gallery.empty(128)

    def embeddings(self, frame: Frame) -> np.ndarray:
        raise NotImplementedError

    def run(self, frame: Frame) -> int:
        """The timed work: faces recognised in ``frame`` (their count, as a sanity figure)."""
        emb = self.embeddings(frame)
        return len(self.gallery.match(emb)) if len(emb) else 0

    def enrol(self, frames: list[Frame], people: int, rng: np.random.Generator) -> None:
        real = [e for f in frames for e in self.embeddings(f)]
        dim = len(real[0]) if real else self.gallery.embeddings.shape[1]
        rows = np.concatenate([np.array(real, np.float32).reshape(-1, dim),
                               peers.unit(rng.standard_normal((max(0, people - len(real)), dim)))])
        ids = list(range(len(rows)))
        self.gallery = Gallery(rows, ids, {i: f"person {i}" for i in ids})


class Ours(Pipeline):
    name = "faceattend (MTCNN+align+SFace)"
    note = "faceattend.pipeline.Recognizer.faces, the app's own path"

    def __init__(self) -> None:
        super().__init__()
        from faceattend.detect import load_detector
        from faceattend.embed import load_embedder
        from faceattend.pipeline import Recognizer

        det = load_detector(min_face_size=peers.MIN_FACE, thresholds=peers.THRESHOLDS,
                            scale_factor=peers.FACTOR, device="cpu")
        self.recognizer = Recognizer(det, load_embedder("cpu"))

    def embeddings(self, frame: Frame) -> np.ndarray:
        return np.array([f.embedding for f in self.recognizer.faces(frame.rgb)], np.float32)

    def enrol(self, frames: list[Frame], people: int, rng: np.random.Generator) -> None:
        super().enrol(frames, people, rng)
        self.recognizer.gallery = self.gallery

    def run(self, frame: Frame) -> int:
        return len(self.recognizer.faces(frame.rgb))


class _SFace(Pipeline):
    """OpenCV's SFace recogniser (int8bq weights as shipped) behind some detector."""

    def __init__(self, cache: Path) -> None:
        super().__init__()
        self.rec = cv2.FaceRecognizerSF.create(str(peers.sface_files(cache)["int8"]), "")


class YuNetSFace(_SFace):
    name = "OpenCV YuNet+SFace (cv2)"
    note = "FaceDetectorYN, FaceRecognizerSF.alignCrop + feature, per face"

    def __init__(self, cache: Path) -> None:
        super().__init__(cache)
        self.yunet = peers.make_yunet()

    def embeddings(self, frame: Frame) -> np.ndarray:
        rows = peers.yunet_rows(self.yunet, frame.bgr)
        rows = rows[np.minimum(rows[:, 2], rows[:, 3]) >= peers.MIN_FACE]
        feats = [self.rec.feature(self.rec.alignCrop(frame.bgr, row)) for row in rows]
        return peers.unit(np.concatenate(feats)) if feats else np.zeros((0, 128), np.float32)


class MtcnnTfSFace(_SFace):
    name = "mtcnn (TF) + SFace (cv2)"
    note = "mtcnn package detection, its 5 points fed to FaceRecognizerSF.alignCrop"

    def __init__(self, cache: Path, threads: int) -> None:
        super().__init__(cache)
        self.mtcnn = peers.make_tf_mtcnn(threads)

    def embeddings(self, frame: Frame) -> np.ndarray:
        rows = peers.tf_mtcnn_rows(self.mtcnn, frame.rgb)
        feats = []
        for r in rows:  # YuNet row layout: x, y, w, h, 5 points (image-left eye first), score
            points = np.stack([r[6:11], r[11:16]], axis=1).ravel()
            yunet_row = np.r_[r[1:3], r[3:5] - r[1:3], points, r[5]].astype(np.float32)
            feats.append(self.rec.feature(self.rec.alignCrop(frame.bgr, yunet_row)))
        return peers.unit(np.concatenate(feats)) if feats else np.zeros((0, 128), np.float32)


class Dlib(Pipeline):
    name = "dlib (HOG+5pt+ResNet)"
    note = "as face_recognition: HOG upsample 1, 5-point model, num_jitters=1, distance <= 0.6"

    def __init__(self) -> None:
        super().__init__()
        self.hog, self.shape, self.rec = peers.dlib_models()
        self.known = np.zeros((0, 128), np.float64)

    def embeddings(self, frame: Frame) -> np.ndarray:
        img = frame.rgb
        rects = [r for r in self.hog(img, 1) if min(r.width(), r.height()) >= peers.MIN_FACE]
        return np.array([np.array(self.rec.compute_face_descriptor(img, self.shape(img, r), 1))
                         for r in rects]).reshape(-1, 128)

    def enrol(self, frames: list[Frame], people: int, rng: np.random.Generator) -> None:
        real = [e for f in frames for e in self.embeddings(f)]
        extra = peers.unit(rng.standard_normal((max(0, people - len(real)), 128))) * 0.8
        self.known = np.concatenate([np.array(real).reshape(-1, 128), extra])

    def run(self, frame: Frame) -> int:
        names: list[Any] = []
        for enc in self.embeddings(frame):
            dist = np.linalg.norm(self.known - enc, axis=1)  # face_recognition.face_distance
            best = int(dist.argmin())
            names.append(best if dist[best] <= 0.6 else None)
        return len(names)


class Facenet(Pipeline):
    name = "facenet-pytorch (MTCNN+InceptionResnetV1)"
    note = "mtcnn(frame) -> 160px crops -> resnet; RANDOM resnet weights (same compute)"

    def __init__(self) -> None:
        super().__init__()
        import torch

        fp = peers.import_facenet()
        self.gallery = Gallery.empty(512)
        self.torch = torch
        self.mtcnn = fp.MTCNN(image_size=160, min_face_size=peers.MIN_FACE, thresholds=list(peers.THRESHOLDS),
                              factor=peers.FACTOR, keep_all=True, device="cpu")
        self.net = fp.InceptionResnetV1(pretrained=None).eval()

    def embeddings(self, frame: Frame) -> np.ndarray:
        with self.torch.inference_mode():
            faces = self.mtcnn(frame.rgb)
            return np.zeros((0, 512), np.float32) if faces is None else self.net(faces).numpy()

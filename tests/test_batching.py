"""Padded batches: a bounded set of shapes reaches the networks, and padding changes no result.

An unbounded set of batch sizes made oneDNN cache a kernel per size and the live app grow by
hundreds of megabytes over a day (``bench/batch_memory.py``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from faceattend.batching import LADDER, padded_size, run_padded
from faceattend.detect.nets import ONet, RNet
from faceattend.embed.embedder import FaceEmbedder
from faceattend.embed.mobilenet import MobileFaceNet
from faceattend.pipeline import Recognizer

from conftest import data_path
from recognition_fixtures import recognizer  # noqa: F401  (session fixture: networks built once)


class ShapeRecorder(nn.Module):
    """Wraps a network and remembers every batch size it was called with."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.sizes: set[int] = set()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self.sizes.add(x.shape[0])
        return self.net(x)


def test_padded_size_is_the_smallest_ladder_step_that_holds_the_batch() -> None:
    for n in range(1, 600):
        size = padded_size(n, 256)
        assert size == min(256, min(step for step in LADDER if step >= n))
        assert n <= size or size == 256
    assert len({padded_size(n, 256) for n in range(1, 10_000)}) <= 30


@pytest.mark.parametrize("net", [RNet(), ONet()], ids=["rnet", "onet"])
def test_padded_run_equals_the_plain_run_and_sees_few_batch_sizes(net: nn.Module) -> None:
    torch.manual_seed(0)
    recorder = ShapeRecorder(net.eval())
    size = 24 if isinstance(net, RNet) else 48
    with torch.inference_mode():
        for n in [*range(1, 40), 100, 255, 256, 257, 600]:
            x = torch.randn(n, 3, size, size)
            padded, plain = run_padded(recorder, x), net(x)
            assert len(padded) == len(plain)
            for a, b in zip(padded, plain, strict=True):
                assert a.shape == b.shape
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        assert len(run_padded(recorder, torch.zeros(0, 3, size, size))[0]) == 0
    assert recorder.sizes <= set(LADDER) | {0}
    assert len(recorder.sizes) <= 16  # 44 different batch sizes went in


def test_embedder_pads_its_batches() -> None:
    embedder = FaceEmbedder(MobileFaceNet(), "random", torch.device("cpu"), flip=False)
    recorder = ShapeRecorder(embedder._infer)
    embedder._infer = recorder  # type: ignore[assignment]
    rng = np.random.default_rng(1)
    faces = rng.integers(0, 255, (70, 112, 112, 3), dtype=np.uint8)
    together = embedder.embed(faces)
    one_by_one = np.concatenate([embedder.embed(faces[i : i + n]) for i, n in ((0, 5), (5, 7), (12, 58))])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert recorder.sizes <= set(LADDER)
    assert max(recorder.sizes) <= embedder.max_batch


def test_detector_runs_rnet_and_onet_on_ladder_sizes(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    detector = recognizer.detector
    rnet, onet = ShapeRecorder(detector.rnet), ShapeRecorder(detector.onet)
    monkeypatch.setattr(detector, "rnet", rnet)
    monkeypatch.setattr(detector, "onet", onet)
    for photo in sorted(Path(data_path("portraits")).rglob("*.jp*g"))[:6]:
        image = cv2.imread(str(photo))
        assert image is not None, photo
        detector.detect(np.ascontiguousarray(image[:, :, ::-1]))
    assert rnet.sizes and onet.sizes
    assert rnet.sizes <= set(LADDER) and onet.sizes <= set(LADDER)

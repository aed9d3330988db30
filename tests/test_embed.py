"""The embedder: shapes, the weight cache, and proof that the port equals the shipped ONNX.

Measured on this machine (torch 2.13 CPU, onnxruntime 1.31): our pre-normalisation output vs
onnxruntime running the shipped int8bq ONNX differs by at most ~3e-6 absolute (~1.4e-6 of the
largest component) with cosine 1.0 to float32 precision; the BatchNorm-folded inference copy
differs from the trainable network by at most ~4e-6. The tolerances below leave ~30x headroom.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import faceattend.embed.mobilenet as mobilenet
from faceattend.embed import STOCK_MODEL, FaceEmbedder, MobileFaceNet, load_embedder
from faceattend.embed.mobilenet import dequantize_linear, fuse_for_inference, load_sface, sface_onnx_path
from faceattend.paths import shared_data_dir

MAX_ABS_DIFF = 1e-4
MIN_COSINE = 0.99999


def _data_dir() -> Path:
    return shared_data_dir()


def _real_crops(count: int = 4) -> np.ndarray:
    """Centre crops of LFW deep-funneled photos resized to 112x112 (alignment is irrelevant here)."""
    import cv2

    files = sorted((_data_dir() / "lfw_dev" / "deepfunneled").glob("*/*.jpg"))[:count]
    if len(files) < count:
        pytest.skip(f"test photos not found under {_data_dir()} (set FACEATTEND_TEST_DATA)")
    crops = [cv2.resize(cv2.imread(str(f))[69:181, 69:181, ::-1], (112, 112)) for f in files]
    return np.ascontiguousarray(np.stack(crops))


def _random_crops(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 112, 112, 3), dtype=np.uint8)


def _nchw(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops.transpose(0, 3, 1, 2).astype(np.float32))


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def sface(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MobileFaceNet]:
    """Stock weights, converted into a private cache so the user's cache is never touched."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEATTEND_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield load_sface(MobileFaceNet()).eval()


def test_random_weights_forward_shapes_and_trains() -> None:
    net = MobileFaceNet()
    x = torch.rand(2, 3, 112, 112) * 255
    features = net.forward_features(x)
    assert features.shape == (2, 1024, 7, 7)
    assert net.forward_head(features).shape == (2, 128)
    net(x).square().mean().backward()  # train mode: BatchNorm layers are real and learnable
    assert net.stem.conv.weight.grad is not None and net.bn_embedding.weight.grad is not None


def test_dequantize_linear_blocked() -> None:
    q = np.array([[1, 2, 3, 4, 5]], dtype=np.int8)
    scale = np.array([[1.0, 10.0, 100.0]], dtype=np.float32)
    zero = np.array([[0, 1, 2]], dtype=np.int8)
    out = dequantize_linear(q, scale, zero, axis=1, block_size=2)
    assert out.dtype == np.float32
    assert np.array_equal(out, [[1.0, 2.0, 20.0, 30.0, 300.0]])


def test_converted_weights_load_and_second_load_hits_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEATTEND_CACHE_DIR", str(tmp_path))
    first = load_sface(MobileFaceNet())
    assert len(list((tmp_path / "weights").glob(f"{mobilenet.CONVERSION_TAG}-*.pt"))) == 1

    def no_conversion(path: Path) -> dict[str, torch.Tensor]:
        raise AssertionError("converted again although the cache holds the weights")

    monkeypatch.setattr(mobilenet, "convert_sface", no_conversion)
    second = load_sface(MobileFaceNet())
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key


def _onnx_reference(crops: np.ndarray) -> np.ndarray:
    """The shipped ONNX run by onnxruntime, one face at a time (its batch is fixed at 1)."""
    import onnxruntime as ort  # a declared test dependency: missing is an error, not a skip

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the file lists its initializers as inputs: harmless warnings
    session = ort.InferenceSession(str(sface_onnx_path()), options, providers=["CPUExecutionProvider"])
    # The quantiser left the original float weights behind as unused graph inputs; feed zeros.
    unused = {
        i.name: np.zeros(i.shape, dtype=np.float32) for i in session.get_inputs() if i.name != "data"
    }
    x = crops.transpose(0, 3, 1, 2).astype(np.float32)
    return np.concatenate([session.run(None, {"data": x[i : i + 1], **unused})[0] for i in range(len(x))])


def _assert_matches_onnx(net: MobileFaceNet, crops: np.ndarray) -> None:
    reference = _onnx_reference(crops)
    with torch.inference_mode():
        ours = net(_nchw(crops)).numpy()
    assert np.abs(ours - reference).max() < MAX_ABS_DIFF
    assert _cosine(ours, reference).min() > MIN_COSINE


def test_port_matches_onnxruntime_on_random_input(sface: MobileFaceNet) -> None:
    _assert_matches_onnx(sface, _random_crops(2))


def test_port_matches_onnxruntime_on_real_faces(sface: MobileFaceNet) -> None:
    _assert_matches_onnx(sface, _real_crops())


def test_fused_inference_copy_equals_trainable_network(sface: MobileFaceNet) -> None:
    before = {k: v.clone() for k, v in sface.state_dict().items()}
    fused = fuse_for_inference(sface)
    x = _nchw(np.concatenate([_random_crops(2, seed=3), _random_crops(1, seed=4) // 2 + 64]))
    with torch.inference_mode():
        plain, folded = sface(x).numpy(), fused(x).numpy()
    assert np.abs(plain - folded).max() < MAX_ABS_DIFF
    assert _cosine(plain, folded).min() > MIN_COSINE
    assert all(torch.equal(v, sface.state_dict()[k]) for k, v in before.items())  # untouched


def test_embedder_output_is_normalised_and_flip_differs(sface: MobileFaceNet) -> None:
    crops = _random_crops(3, seed=5)
    plain = FaceEmbedder(sface, STOCK_MODEL, torch.device("cpu"), flip=False)
    flipped = FaceEmbedder(sface, STOCK_MODEL, torch.device("cpu"), flip=True)
    a, b = plain.embed(crops), flipped.embed(crops)
    assert a.shape == b.shape == (3, 128) and a.dtype == b.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5)
    assert np.abs(a - b).max() > 1e-3
    with torch.inference_mode():  # flip = normalise(f(x) + f(mirror x)) of the unfused network
        raw = sface(_nchw(crops)) + sface(_nchw(crops[:, :, ::-1].copy()))
        expected = torch.nn.functional.normalize(raw, dim=1).numpy()
        unflipped = torch.nn.functional.normalize(sface(_nchw(crops)), dim=1).numpy()
    assert np.abs(b - expected).max() < 1e-5 and np.abs(a - unflipped).max() < 1e-5
    assert plain.embed(crops[:0]).shape == (0, 128)


def test_load_embedder_stock_and_finetuned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEATTEND_CACHE_DIR", str(tmp_path))
    stock = load_embedder("cpu")
    assert (stock.model_name, stock.dim, stock.device.type) == (STOCK_MODEL, 128, "cpu")
    weights = tmp_path / "office-2024.pt"
    torch.save(MobileFaceNet().state_dict(), weights)
    tuned = load_embedder(torch.device("cpu"), weights=weights)
    assert tuned.model_name == "office-2024"
    assert np.isfinite(tuned.embed(_random_crops(1))).all()
    torch.save({"not": torch.zeros(1)}, tmp_path / "junk.pt")
    with pytest.raises(ValueError):
        load_embedder("cpu", weights=tmp_path / "junk.pt")

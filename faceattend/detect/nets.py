"""The three MTCNN networks (PNet, RNet, ONet) and the conversion of their Keras weights.

The architecture is the original MTCNN (Zhang et al., 2016). The networks are built with random
weights; :func:`convert_keras_weights` turns the arrays that the ``mtcnn`` package ships
(``mtcnn/assets/weights/{pnet,rnet,onet}.lz4``) into a state dict, and the detector loads it
through :func:`faceattend.weights.load_converted` so the conversion runs once per file.

Input convention (it travels with the weights): RGB, ``(x - 127.5) * 0.0078125``, NCHW float.
Outputs: the face probability (softmax channel 1) first, then the box offsets (x1, y1, x2, y2
as fractions of the box size), then for ONet the 5 landmarks as fractions of the box size,
laid out x1..x5, y1..y5.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

StateDict = dict[str, torch.Tensor]

#: Added to conv1 outputs that must not take part in PNet's max-pooling (see
#: :meth:`PNet.forward`): far below any real activation, yet finite so no NaN appears.
MASKED = -1.0e9


class PNet(nn.Module):
    """Proposal network: fully convolutional, one 12x12 window every 2 pixels."""

    #: State-dict keys in the order the Keras arrays are stored (box head before the classifier).
    KERAS_ORDER: ClassVar[tuple[str, ...]] = (
        "conv1.weight", "conv1.bias", "prelu1.weight",
        "conv2.weight", "conv2.bias", "prelu2.weight",
        "conv3.weight", "conv3.bias", "prelu3.weight",
        "box.weight", "box.bias", "face.weight", "face.bias",
    )

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.face = nn.Conv2d(32, 2, kernel_size=1)
        self.box = nn.Conv2d(32, 4, kernel_size=1)

    def forward(
        self, x: torch.Tensor, pool_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (face probability (N, h, w), box offsets (N, 4, h, w)).

        ``pool_mask`` (broadcastable to the conv1 output) is added before the max-pool: 0 where
        a conv1 output belongs to a real image, :data:`MASKED` elsewhere. The detector packs
        all pyramid levels into one canvas; the mask makes a pool window at a level's odd edge
        see only that level's values, exactly as ``ceil_mode`` pooling does on the level alone.
        """
        x = self.prelu1(self.conv1(x))
        if pool_mask is not None:
            x = x + pool_mask
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        prob = torch.softmax(self.face(x), dim=1)[:, 1]
        return prob, self.box(x)


class RNet(nn.Module):
    """Refinement network: scores and re-boxes 24x24 candidate crops."""

    KERAS_ORDER: ClassVar[tuple[str, ...]] = (
        "conv1.weight", "conv1.bias", "prelu1.weight",
        "conv2.weight", "conv2.bias", "prelu2.weight",
        "conv3.weight", "conv3.bias", "prelu3.weight",
        "dense4.weight", "dense4.bias", "prelu4.weight",
        "box.weight", "box.bias", "face.weight", "face.bias",
    )

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.face = nn.Linear(128, 2)
        self.box = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (face probability (N,), box offsets (N, 4)) for (N, 3, 24, 24) crops."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        # The Keras dense layer was trained on a (N, W, H, C) flattening.
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))
        return torch.softmax(self.face(x), dim=1)[:, 1], self.box(x)


class ONet(nn.Module):
    """Output network: final score, box and five landmarks from 48x48 crops."""

    KERAS_ORDER: ClassVar[tuple[str, ...]] = (
        "conv1.weight", "conv1.bias", "prelu1.weight",
        "conv2.weight", "conv2.bias", "prelu2.weight",
        "conv3.weight", "conv3.bias", "prelu3.weight",
        "conv4.weight", "conv4.bias", "prelu4.weight",
        "dense5.weight", "dense5.bias", "prelu5.weight",
        "box.weight", "box.bias", "landmarks.weight", "landmarks.bias",
        "face.weight", "face.bias",
    )

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.face = nn.Linear(256, 2)
        self.box = nn.Linear(256, 4)
        self.landmarks = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (face probability (N,), box offsets (N, 4), landmarks (N, 10)) for 48x48 crops.

        Landmarks are fractions of the crop, laid out x1..x5 then y1..y5.
        """
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return torch.softmax(self.face(x), dim=1)[:, 1], self.box(x), self.landmarks(x)


def keras_arrays_to_state(arrays: list[np.ndarray], order: tuple[str, ...]) -> StateDict:
    """Map Keras-layout arrays, in file order, onto state-dict keys.

    Conv kernels HWIO -> OIHW, PReLU alphas (1, 1, C) -> (C,), dense kernels (in, out) ->
    (out, in); biases and dense PReLU alphas are already right.
    """
    if len(arrays) != len(order):
        raise ValueError(f"expected {len(order)} weight arrays, got {len(arrays)}")
    state: StateDict = {}
    for key, array in zip(order, arrays, strict=True):
        tensor = torch.from_numpy(np.asarray(array, dtype=np.float32))
        if tensor.ndim == 4:
            tensor = tensor.permute(3, 2, 0, 1)
        elif tensor.ndim == 3:
            tensor = tensor.reshape(-1)
        elif tensor.ndim == 2:
            tensor = tensor.t()
        state[key] = tensor.contiguous().clone()
    return state


def convert_keras_weights(path: Path, order: tuple[str, ...]) -> StateDict:
    """Read one of the ``mtcnn`` package's ``.lz4`` weight files into a state dict."""
    import joblib  # imported here: only a (cached) conversion needs it

    return keras_arrays_to_state(list(joblib.load(path)), order)

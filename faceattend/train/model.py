"""The trainable copy of the embedder, split into a frozen front and a trained back.

Only the back is trained; the front runs once per crop (and per augmented view) and its output
is cached, so an epoch of head-only training costs a few milliseconds instead of a full pass
through the network. Every BatchNorm stays in eval mode with its running statistics frozen:
batches of a handful of people are far too small and too alike to re-estimate statistics that
were computed on millions of faces, and changing them would move every stranger's embedding.
Dropout is off for the same reason (the evaluation must see the same function as training).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from faceattend.embed.mobilenet import (
    INPUT_MEAN,
    INPUT_SCALE,
    MobileFaceNet,
    fuse_for_inference,
    load_sface,
)
from faceattend.train.options import LAYER_CHOICES

StateDict = dict[str, torch.Tensor]
#: Blocks ``last`` trains besides the head (the 7x7 stage of the network).
LAST_BLOCKS = 2


def stock_state() -> StateDict:
    """The stock SFace weights, as the app uses them (converted once and cached)."""
    net = MobileFaceNet()
    load_sface(net)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def build_net(state: StateDict, device: torch.device) -> MobileFaceNet:
    net = MobileFaceNet()
    net.load_state_dict(state)
    return net.to(device).eval()


class Front(nn.Module):
    """The frozen part: crops (N, 3, 112, 112, 0..255) -> the trained part's input.

    Runs a BatchNorm-folded copy of the frozen layers (the same function in eval mode, about
    a fifth faster), since caching the bank is most of a head-only run's time.
    """

    def __init__(self, net: MobileFaceNet, layers: str) -> None:
        super().__init__()
        self.layers = layers
        if layers != "all":
            fused = fuse_for_inference(net)
            stop = len(fused.blocks) - (LAST_BLOCKS if layers == "last" else 0)
            self.body = nn.Sequential(fused.stem, *list(fused.blocks)[:stop])

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layers == "all":
            return x
        return self.body((x - INPUT_MEAN) * INPUT_SCALE)


class Back(nn.Module):
    """The trained part: the front's output -> unit-length 128-d embedding."""

    def __init__(self, net: MobileFaceNet, layers: str) -> None:
        super().__init__()
        self.net, self.layers = net, layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        if self.layers == "all":
            x = net.forward_features(x)
        elif self.layers == "last":
            x = net.blocks[-LAST_BLOCKS:](x)
        x = net.bn_features(x)  # dropout skipped: see the module docstring
        return F.normalize(net.bn_embedding(net.fc(torch.flatten(x, 1))), dim=1)


@dataclass
class SplitNet:
    """One network seen as front (frozen) and back (trained)."""

    net: MobileFaceNet
    front: Front
    back: Back
    layers: str

    def trainable(self) -> list[nn.Parameter]:
        return [p for p in self.net.parameters() if p.requires_grad]

    def state(self) -> StateDict:
        """A CPU copy of the whole network's weights, loadable by ``load_embedder``."""
        return {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}


def split(net: MobileFaceNet, layers: str) -> SplitNet:
    """Freeze all but ``layers`` (see :data:`LAYER_CHOICES`) and keep the net in eval mode."""
    if layers not in LAYER_CHOICES:
        raise ValueError(f"unknown layers {layers!r}; choose one of {', '.join(LAYER_CHOICES)}")
    net.eval().requires_grad_(False)
    trained: list[nn.Module] = [net.bn_features, net.fc, net.bn_embedding]
    if layers == "last":
        trained.extend(list(net.blocks)[-LAST_BLOCKS:])
    elif layers == "all":
        trained = [net]
    for module in trained:
        module.requires_grad_(True)
    return SplitNet(net, Front(net, layers), Back(net, layers), layers)

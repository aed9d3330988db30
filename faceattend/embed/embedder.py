"""Aligned face crops in, unit-length 128-d embeddings out (numpy at both ends).

The embedder keeps the trainable :class:`MobileFaceNet` as it was given and runs a BatchNorm-folded
channels-last copy of it for inference: the same function (within float rounding, ~1e-6), about
a fifth faster on CPU than the unfolded network, and faster per face than onnxruntime running the
same weights. Thread counts are left to the caller (``torch.set_num_threads``) because the app
decides how to share the CPU between camera, detector and embedder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from faceattend.batching import run_padded
from faceattend.device import pick_device
from faceattend.embed.mobilenet import INPUT_SIZE, MobileFaceNet, fuse_for_inference, load_sface
from faceattend.errors import UserError

#: Name recorded with every stored embedding made by the stock weights, so embeddings of a
#: fine-tuned model (named after its weights file) are never compared with these.
STOCK_MODEL = "sface-2021dec"


class FaceEmbedder:
    """Batched, eval-mode inference of one set of embedding weights on one device.

    ``flip=True`` adds the embedding of each face's mirror image before normalising (a common
    test-time augmentation that makes the result less sensitive to pose); both views go through
    the network in one batch. The embeddings of a flip and a no-flip embedder are close but not
    identical, so ``flip`` must stay the same for a whole gallery. The folded inference copy is
    taken when the embedder is made: after changing ``net``'s weights, make a new embedder.
    """

    #: Largest number of crops sent through the network at once; bounds memory on big imports.
    max_batch = 64

    def __init__(self, net: MobileFaceNet, model_name: str, device: torch.device, flip: bool) -> None:
        self.net = net.to(device).eval()
        self.model_name = model_name
        self.device = device
        self.flip = flip
        self.dim: int = net.fc.out_features
        # torch's stubs lack Module.to(memory_format=...), which exists at run time.
        self._infer = fuse_for_inference(self.net).to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB aligned crops -> (N, dim) float32, each row unit length."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}, 3) crops, got {crops.shape}")
        if crops.dtype != np.uint8:
            raise ValueError(f"expected uint8 crops, got {crops.dtype}")
        return self._embed_batch(crops)

    @torch.inference_mode()
    def _embed_batch(self, crops: np.ndarray) -> np.ndarray:
        pixels = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device)
        (emb,) = run_padded(self._forward, pixels, largest=self.max_batch)
        return F.normalize(emb, dim=1).float().cpu().numpy()

    def _forward(self, pixels: torch.Tensor) -> torch.Tensor:
        # NHWC uint8 permuted to NCHW *is* channels_last in memory: no copy, no reorder.
        x = pixels.permute(0, 3, 1, 2).float()
        if not self.flip:
            return self._infer(x)
        both = self._infer(torch.cat([x, x.flip(3)]).contiguous(memory_format=torch.channels_last))
        return both[: len(x)] + both[len(x) :]


def load_embedder(
    device: str | torch.device = "auto", weights: Path | None = None, flip: bool = False
) -> FaceEmbedder:
    """The embedder for ``weights``: None for stock SFace, else a fine-tuned state-dict file.

    A fine-tuned file is a ``MobileFaceNet.state_dict()`` saved by the training wizard; its
    stem becomes the model name stored with its embeddings. ``device`` follows
    :func:`pick_device` (``auto``/``cpu``/``cuda``, CUDA falling back to CPU when absent).
    """
    dev = pick_device(device.type if isinstance(device, torch.device) else device)
    net = MobileFaceNet()
    if weights is None:
        load_sface(net)
        name = STOCK_MODEL
    else:
        weights = Path(weights)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise UserError(f"{weights} does not hold MobileFaceNet weights: {exc}") from exc
        name = weights.stem
    return FaceEmbedder(net, name, dev, flip)

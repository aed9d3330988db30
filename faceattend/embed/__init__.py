"""Face embedding: the SFace network (MobileNet-V1 body, 128-d head) and its batched runner.

Tensors stay inside this package; the public functions take and return numpy arrays.
"""

from faceattend.embed.embedder import STOCK_MODEL, FaceEmbedder, load_embedder
from faceattend.embed.mobilenet import MobileFaceNet

__all__ = ["STOCK_MODEL", "FaceEmbedder", "MobileFaceNet", "load_embedder"]

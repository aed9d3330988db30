"""``torchvision.ops`` stand-in: only NMS."""

from torchvision.ops.boxes import batched_nms, nms

__all__ = ["batched_nms", "nms"]

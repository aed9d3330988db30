"""Minimal fake ``torchvision`` for facenet-pytorch (benchmark only, see ``bench/shim``).

facenet-pytorch imports exactly two things from torchvision at import time:
``torchvision.ops.boxes.batched_nms`` (used by its MTCNN) and
``torchvision.transforms.functional`` (``to_tensor``, used by ``extract_face`` only).
"""

__version__ = "0.0.0+faceattend-bench-shim"

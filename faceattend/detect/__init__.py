"""Face detection: the MTCNN cascade (PNet, RNet, ONet) in PyTorch.

``load_detector()`` gives a ready detector; ``MTCNNDetector.detect(frame)`` returns
:class:`faceattend.types.Detection` objects (box, score, five landmarks) for an RGB frame.
"""

from faceattend.detect.mtcnn import MTCNNDetector, load_detector

__all__ = ["MTCNNDetector", "load_detector"]

"""Fine-tuning the face embedder on enrolled faces: the engine behind the wizard and ``faceattend train``.

Qt-free. Tensors stay inside this package (and ``embed``); callers pass numpy crops and get
plain figures back. The flow:

    data = store_data(store, chosen_person_ids)             # sources: crops, split per person
    for report in Trainer(data, TrainOptions()).run(cancel_event):
        ...                                                 # Progress: stage, step, losses, validation
    version = save_candidate(report.result, settings)       # models_dir/ft-YYYYmmdd-HHMMSS.pt
    activate(store, settings, version.name)                 # Accept: re-embed, switch
    discard_candidate(version)                              # or Discard: delete the file
    list_versions(settings); activate(store, settings, old) # go back later
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from faceattend.train.options import DEFAULT_LOSS, LAYER_CHOICES, LOSSES, Augment, TrainOptions

if TYPE_CHECKING:
    from faceattend.train.data import FaceSet, TrainData, assemble
    from faceattend.train.engine import Progress, Trainer, TrainResult, fine_tune
    from faceattend.train.metrics import Evaluation
    from faceattend.train.sources import folder_data, folder_faces, store_data, store_faces
    from faceattend.train.versions import (
        ModelVersion,
        activate,
        active_model,
        discard_candidate,
        list_versions,
        save_candidate,
    )

#: Where each public name lives. Imported on first use (PEP 562), so that ``faceattend --help``
#: and ``import faceattend.train.options`` do not import torch.
_HOMES = {
    "FaceSet": "data", "TrainData": "data", "assemble": "data",
    "Progress": "engine", "TrainResult": "engine", "Trainer": "engine", "fine_tune": "engine",
    "Evaluation": "metrics",
    "folder_data": "sources", "folder_faces": "sources", "store_data": "sources", "store_faces": "sources",
    "ModelVersion": "versions", "activate": "versions", "active_model": "versions",
    "discard_candidate": "versions", "list_versions": "versions", "save_candidate": "versions",
}


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(importlib.import_module(f"faceattend.train.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'faceattend.train' has no attribute {name!r}")


# Spelled out (not ``*_HOMES``) so that linters and type checkers see the lazy names as exported.
__all__ = [
    "Augment", "DEFAULT_LOSS", "LAYER_CHOICES", "LOSSES", "TrainOptions",
    "FaceSet", "TrainData", "assemble",
    "Progress", "TrainResult", "Trainer", "fine_tune",
    "Evaluation",
    "folder_data", "folder_faces", "store_data", "store_faces",
    "ModelVersion", "activate", "active_model", "discard_candidate", "list_versions", "save_candidate",
]
assert set(__all__) == {"Augment", "DEFAULT_LOSS", "LAYER_CHOICES", "LOSSES", "TrainOptions", *_HOMES}

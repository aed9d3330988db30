"""Model versions: save a candidate, accept it (re-embed the gallery), discard it, go back.

Each fine-tuned model is ``models_dir(settings)/<name>.pt`` (a ``MobileFaceNet`` state dict that
``load_embedder`` reads) with a ``<name>.json`` beside it recording what it was trained on and
its before/after figures. The stock model is not a file; it is always available. Switching
models re-embeds every stored sample from its stored crop, because embeddings of different
models must never be compared (the store tags each embedding with its model), and then
records the new model as the active one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from faceattend.config import Settings
from faceattend.embed import STOCK_MODEL, load_embedder
from faceattend.errors import UserError
from faceattend.paths import make_private
from faceattend.pipeline import ACTIVE_MODEL_KEY, model_weights, models_dir
from faceattend.store import Store, StoreError
from faceattend.train.engine import TrainResult

ProgressFn = Callable[[int, int], None]
PREFIX = "ft-"


@dataclass(frozen=True)
class ModelVersion:
    """One model the app can switch to; ``path`` is None for the stock model."""

    name: str
    path: Path | None
    info: dict[str, object]

    @property
    def is_stock(self) -> bool:
        return self.path is None


def new_version_name(settings: Settings, now: datetime | None = None) -> str:
    """``ft-YYYYmmdd-HHMMSS``, with a suffix if that second is already taken."""
    base = PREFIX + (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    name, n = base, 1
    while (models_dir(settings) / f"{name}.pt").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _summary(result: TrainResult) -> dict[str, object]:
    return {
        "created": datetime.now().isoformat(timespec="seconds"),
        "people": sorted(result.people.values()),
        "options": {k: v for k, v in dataclasses.asdict(result.options).items() if k != "augment"},
        "before": dataclasses.asdict(result.before),
        "after": dataclasses.asdict(result.after),
        "seconds": round(result.seconds, 1),
    }


def save_candidate(result: TrainResult, settings: Settings, name: str | None = None,
                   path: Path | None = None) -> ModelVersion:
    """Write the new weights (not yet active) and their summary; returns the version.

    ``path`` writes elsewhere (``faceattend train --dataset --out``); the name is its stem.
    """
    if path is None:
        name = name or new_version_name(settings)
        path = models_dir(settings) / f"{name}.pt"
    result.save(path)
    info = _summary(result)
    path.with_suffix(".json").write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    for written in (path, path.with_suffix(".json"), path.parent):
        make_private(written)  # the weights and the names of the people they were trained on
    return ModelVersion(path.stem, path, info)


def discard_candidate(version: ModelVersion) -> None:
    """Delete a candidate's files; the database and the active model were never touched."""
    if version.path is not None:
        version.path.unlink(missing_ok=True)
        version.path.with_suffix(".json").unlink(missing_ok=True)
        version.path.with_suffix(".tmp").unlink(missing_ok=True)


def list_versions(settings: Settings) -> list[ModelVersion]:
    """The stock model first, then every fine-tuned version, oldest first."""
    versions = [ModelVersion(STOCK_MODEL, None, {"created": "", "people": []})]
    folder = models_dir(settings)
    for path in sorted(folder.glob("*.pt")) if folder.is_dir() else []:
        info: dict[str, object] = {}
        try:
            info = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {"created": datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")}
        versions.append(ModelVersion(path.stem, path, info))
    return versions


def active_model(store: Store) -> str:
    return store.get_meta(ACTIVE_MODEL_KEY) or STOCK_MODEL


def activate(store: Store, settings: Settings, name: str, progress: ProgressFn | None = None,
             batch: int = 64) -> int:
    """Re-embed every stored sample with model ``name`` and make it the active model.

    Used for Accept (the candidate) and for going back to an earlier version or the stock
    model. The embeddings are replaced in one transaction, then the active model is recorded;
    if the app stops in between, the store's ``sample_models()`` shows the re-embed is due and
    running this again finishes it. Returns the number of samples re-embedded.
    """
    missing = store.db.execute("SELECT count(*) FROM samples WHERE crop IS NULL OR length(crop) = 0").fetchone()[0]
    if missing:  # retention deleted their face images: re-embedding them is impossible, dropping them silent
        raise StoreError(f"{missing} sample(s) have no face image any more (retention deleted them), so they "
                         f"cannot be embedded with another model; enrol those people again, then switch models")
    embedder = load_embedder(settings.device, weights=model_weights(settings, name))
    samples = store.samples()
    vectors: dict[int, np.ndarray] = {}
    for start in range(0, len(samples), batch):
        chunk = samples[start:start + batch]
        crops = np.stack([store.sample_crop(s.id) for s in chunk])
        for sample, vector in zip(chunk, embedder.embed(crops), strict=True):
            vectors[sample.id] = vector
        if progress:
            progress(min(start + batch, len(samples)), len(samples))
    store.replace_embeddings(embedder.model_name, vectors)
    store.set_meta(ACTIVE_MODEL_KEY, embedder.model_name)
    store.log("model", embedder.model_name, {"samples_re_embedded": len(vectors)})
    return len(vectors)


def install_model_file(settings: Settings, path: Path) -> str:
    """Copy a model file from elsewhere into the models folder (checked first); returns its name."""
    load_embedder("cpu", weights=path)  # raises ValueError when it is not MobileFaceNet weights
    target = models_dir(settings) / f"{path.stem}.pt"
    if target.resolve() != path.resolve():
        if target.exists():
            raise UserError(f"a model called {path.stem} already exists in {target.parent}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        side = path.with_suffix(".json")
        if side.is_file():
            target.with_suffix(".json").write_bytes(side.read_bytes())
    return path.stem


def retire_models_for(store: Store, settings: Settings, names: list[str],
                      progress: ProgressFn | None = None) -> list[str]:
    """Retire every fine-tuned model trained on one of ``names`` (archived or erased people).

    Their weights were shaped by that face, so they go: when one is in use the gallery is first
    re-embedded with the stock model (the person's samples are already gone), then its ``.pt``
    and its ``.json`` (which names everyone it was trained on) are overwritten and deleted.
    The audit event names the model, not the person. Returns the retired versions' names.
    """
    from faceattend.store.backup import shred
    from faceattend.store.names import name_key

    keys = {name_key(n) for n in names}
    retired = []
    for version in list_versions(settings):
        people = version.info.get("people") or []
        if version.path is None or not isinstance(people, list) or not any(name_key(str(p)) in keys for p in people):
            continue
        if active_model(store) == version.name:
            activate(store, settings, STOCK_MODEL, progress)
        for path in (version.path, version.path.with_suffix(".json"), version.path.with_suffix(".tmp")):
            if path.exists():
                shred(path)
        store.log("model-retire", version.name, {"why": "trained on a person who was archived or erased"})
        retired.append(version.name)
    return retired

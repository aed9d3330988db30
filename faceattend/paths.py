"""Where faceattend keeps its files, frozen (PyInstaller) or not."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "faceattend"


def data_dir() -> Path:
    """Per-user data folder (database, settings, fine-tuned models).

    ``FACEATTEND_DATA_DIR`` overrides it, which tests and portable installs use.
    """
    override = os.environ.get("FACEATTEND_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Per-user cache folder (converted weights); safe to delete at any time."""
    override = os.environ.get("FACEATTEND_CACHE_DIR")
    path = Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database() -> Path:
    return data_dir() / "faceattend.db"


def bundle_root() -> Path | None:
    """The PyInstaller bundle folder when frozen, else None."""
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) if root else None


def package_file(package: str, *relative: str) -> Path:
    """A data file shipped inside an installed package, found without importing the package.

    Some packages (``mtcnn``) import heavy frameworks in ``__init__``; ``find_spec`` only
    locates them. Inside a frozen bundle the files are collected under ``<bundle>/<package>/``.
    """
    candidates: list[Path] = []
    bundle = bundle_root()
    if bundle is not None:
        candidates.append(bundle.joinpath(package, *relative))
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        candidates.extend(Path(loc).joinpath(*relative) for loc in spec.submodule_search_locations)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{'/'.join(relative)} from the '{package}' package was not found; "
        f"install it with: pip install {package}"
    )


def asset(name: str) -> Path:
    """A file from the project's own ``assets/`` folder (icons)."""
    bundle = bundle_root()
    base = bundle / "assets" if bundle is not None else Path(__file__).resolve().parent.parent / "assets"
    return base / name

